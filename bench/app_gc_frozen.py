"""What-if for bench_http.py --gc-freeze: the real app, with gc.freeze() once it is built.

Bench-only: it changes nothing in app/. After gc.freeze() the content loaded at startup sits in the
permanent generation, so a full (generation 2) collection no longer walks every Question, Option and
index entry. Compare `python bench/bench_http.py` with `python bench/bench_http.py --gc-freeze`.
"""

import gc

from app.main import create_app

app = create_app()
gc.collect()
gc.freeze()
