"""Server time to render the interview page and the report page (in-process, bundled content).

    python bench/bench_pages.py --calls 300
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.db import upgrade
from app.main import create_app
from app.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def timed(client: TestClient, url: str, calls: int) -> tuple[float, float]:
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        r = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp()}/pages.db"
    upgrade(url)
    app = create_app(Settings(database_url=url, content_dir=REPO / "content", env="test", secret_key="bench"))
    with TestClient(app) as client:
        home = client.get("/")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
        loc = client.post("/start", data={"round": "tplink-algo-2", "csrf_token": csrf},
                          follow_redirects=False).headers["location"]
        rows = [("home page", "/"), ("interview page, first question", loc), ("interview page, 5th question",
                f"{loc}?q=4")]
        results = [(name, *timed(client, u, args.calls)) for name, u in rows]
        page = client.get(loc)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post(f"{loc}/finish", data={"csrf_token": csrf})
        results.append(("report page", *timed(client, f"{loc}/report", args.calls)))
    print(f"\nPage render, server time in-process (TestClient), {args.calls} calls each, round tplink-algo-2\n")
    print("| page | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, p50, p99 in results:
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
