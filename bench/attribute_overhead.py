"""Where a GET /api/v1/questions/{id} spends its time, in-process (no network, no wrk): µs per request.

    python bench/attribute_overhead.py --content /tmp/syn

Calls the ASGI apps directly in one asyncio loop with the garbage collector off, so the numbers are the
framework + endpoint CPU cost only. Variants:

  bare                  bench/bare_app.py (async endpoint, constant bytes)
  bare + sync dep       the same endpoint with a plain `def dep(request: Request)` dependency (FastAPI
                        runs plain-def dependencies in the thread pool)
  bare + async dep      the same with an `async def` dependency
  app, cached views     app.main:app over non-generated ids (view bytes cached after the first read)
  app, generated ids    app.main:app over generated ids (a fresh instance and markdown render per request)
  app, check            anonymous POST .../check of single and open questions (the open answer as in
                        bench_http.py)

It also times one full garbage collection (gen 2) with the app and the content in memory, the pause a
request hits whenever CPython decides to collect the oldest generation.
"""

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))


def _scope(path: str, body: bytes) -> dict:
    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST" if body else "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def _call(app, request: str | tuple[str, bytes]) -> None:
    """GET a path, or POST (path, JSON body)."""
    path, body = (request, b"") if isinstance(request, str) else request

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    status: list[int] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(_scope(path, body), receive, send)
    if status[0] != 200:
        raise RuntimeError(f"{path}: HTTP {status[0]}")


async def _per_request_us(app, paths: list, n: int, repeats: int) -> float:
    for p in paths:  # warm every cache the endpoint has
        await _call(app, p)
    best = []
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(n):
            await _call(app, paths[i % len(paths)])
        best.append((time.perf_counter() - t) / n * 1e6)
    return min(best)


def _bare_with_dep(body: bytes, asynchronous: bool):
    app = FastAPI()
    state = {"body": body}
    if asynchronous:
        async def dep(request: Request) -> dict:
            return state
    else:
        def dep(request: Request) -> dict:
            return state

    @app.get("/api/v1/questions/{question_id}")
    async def get_question(question_id: str, s: Annotated[dict, Depends(dep)]) -> Response:
        return Response(s["body"], media_type="application/json")

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", type=Path, help="content directory (default: generate 10k questions)")
    parser.add_argument("--requests", type=int, default=5000, help="requests per variant and repeat (default 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per variant, best kept (default 3)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the app on cached views")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mianjing-attr-") as tmp:
        content_dir = args.content
        if content_dir is None:
            from make_synthetic_bank import generate  # type: ignore[import-not-found]

            content_dir = Path(tmp) / "content"
            generate(content_dir)
        os.environ["MIANJING_CONTENT_DIR"] = str(content_dir)
        os.environ["MIANJING_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'attr.db'}"
        import orjson

        from app.main import create_app
        from app.views import question_view

        real = create_app()
        content = real.state.store.current
        ids = [q.id for q in content.questions]
        static = [f"/api/v1/questions/{i}" for i in ids[::5] if content.by_id[i].type != "generated"][:1500]
        generated = [f"/api/v1/questions/{q.id}" for q in content.questions if q.type == "generated"][:300]
        body = orjson.dumps(question_view(content.questions[0]))
        from bench_scoring import OPEN_PARTIAL  # type: ignore[import-not-found]

        checks = {t: [(f"/api/v1/questions/{q.id}/check", orjson.dumps({"answer": a}))
                      for q in content.questions if q.type == t][:300]
                  for t, a in (("single", "A"), ("open", OPEN_PARTIAL))}
        os.environ["BENCH_BARE_BODY_FILE"] = str(Path(tmp) / "view.json")
        Path(os.environ["BENCH_BARE_BODY_FILE"]).write_bytes(body)
        import bare_app  # type: ignore[import-not-found]

        async def run() -> list[tuple[str, float]]:
            out = []
            n, r = args.requests, args.repeats
            out.append(("bare", await _per_request_us(bare_app.app, static, n, r)))
            out.append(("bare + sync dep", await _per_request_us(_bare_with_dep(body, False), static, n, r)))
            out.append(("bare + async dep", await _per_request_us(_bare_with_dep(body, True), static, n, r)))
            out.append(("app, cached views", await _per_request_us(real, static, n, r)))
            out.append(("app, generated ids", await _per_request_us(real, generated, n // 5, r)))
            for kind, reqs in checks.items():
                out.append((f"app, check {kind}", await _per_request_us(real, reqs, n // 5, r)))
            return out

        async def profile() -> str:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001, async_mode="disabled")
            profiler.start()
            for i in range(args.requests):
                await _call(real, static[i % len(static)])
            profiler.stop()
            return profiler.output_text(unicode=False, color=False)

        gc.collect()
        gc.disable()
        try:
            results = asyncio.run(run())
        finally:
            gc.enable()
        pauses = []
        for _ in range(5):
            t = time.perf_counter()
            gc.collect()
            pauses.append((time.perf_counter() - t) * 1000)
        tracked = len(gc.get_objects())

        # (c) in bench_http.py: the cost of the filter + search behind GET /api/v1/questions?topic=&q=
        from urllib.parse import parse_qs, urlsplit

        from bench_http import pick_requests  # type: ignore[import-not-found]

        _, lists, _, _ = pick_requests(content, 2000)
        queries = [(qs["topic"][0], qs["q"][0]) for qs in (parse_qs(urlsplit(r[1]).query) for r in lists)]
        filter_ms, search_ms, per_term = [], [], {}
        for topic, term in queries:
            t = time.perf_counter()
            content.filter(topics=(topic,), q=term)
            filter_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            hits = content.search_index.search(term)
            search_ms.append((time.perf_counter() - t) * 1000)
            per_term[term] = (search_ms[-1], len(hits or ()))
        profile_text = asyncio.run(profile()) if args.profile else ""

    print("| variant | µs per request (best of repeats) |")
    print("|---|---:|")
    for name, us in results:
        print(f"| {name} | {us:.0f} |")
    print()
    print(f"full gc.collect() with the app and {len(ids)} questions loaded: median {statistics.median(pauses):.0f} ms "
          f"({tracked} gc-tracked container objects)")
    print()
    print(f"list queries (topic + q, {len(queries)} as in bench_http.py): content.filter mean "
          f"{statistics.fmean(filter_ms):.2f} ms, max {max(filter_ms):.2f} ms; of which search over all "
          f"questions mean {statistics.fmean(search_ms):.2f} ms")
    slow = sorted(per_term.items(), key=lambda kv: -kv[1][0])[:5]
    print("slowest terms: " + ", ".join(f"{t} {ms:.1f} ms ({n} docs)" for t, (ms, n) in slow))
    if profile_text:
        print()
        print(profile_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
