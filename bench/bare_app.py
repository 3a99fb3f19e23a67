"""A bare FastAPI app: the ceiling the real API is compared against in bench/bench_http.py.

One `async def` endpoint on the same path as the real question view, returning constant JSON bytes.
bench_http.py fetches a typical question view from the real app first, writes it to a file and passes
its path in BENCH_BARE_BODY_FILE, so both servers send the same number of bytes.

    BENCH_BARE_BODY_FILE=/tmp/view.json uvicorn bare_app:app --app-dir bench --port 8701 --workers 1
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response

_FALLBACK = b'{"id":"bare","bank":"bare","type":"single","title":"bare","prompt":"' + b"x" * 1500 + b'"}'
_path = os.environ.get("BENCH_BARE_BODY_FILE")
BODY: bytes = Path(_path).read_bytes() if _path else _FALLBACK

app = FastAPI(title="bare")


@app.get("/api/v1/questions/{question_id}")
async def get_question(question_id: str) -> Response:
    return Response(BODY, media_type="application/json")
