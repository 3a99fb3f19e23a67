"""HTTP throughput and latency of the real app next to a bare FastAPI app, measured with wrk in one run.

    python bench/bench_http.py                       # 10k synthetic questions, 2 rounds of 10 s per scenario
    python bench/bench_http.py --content /tmp/syn --duration 5 --rounds 1

Two servers run side by side on 127.0.0.1, each `uvicorn --workers 1 --log-level warning --no-access-log`:

  (a) bench/bare_app.py: one `async def` endpoint returning a constant body the size of a typical view
  (b) app.main:app on GET /api/v1/questions/{id}, rotating over many ids (every type, as in the bank)
  (b') the same over the non-generated ids only (generated items draw and render per request); info only
  (b-304) the ids of (b') again, each GET with If-None-Match: the strong ETag a first GET of that id
      returned, so every answer is a bodiless 304 (a client revalidating its cached view); info
  (c) GET /api/v1/questions?topic=...&q=... rotating over topic + search pairs
  (d) POST /api/v1/questions/{id}/check for single, numeric and open questions (rotating ids), anonymous

Every scenario is run `--rounds` times (the a/b order alternates between rounds) with
`wrk -t2 -c20 -dNs --latency` and a Lua script; the best run of each is reported.
Targets: (b)/(a) >= 0.70, (d)/(b) >= 0.60, (c) p99 < 25 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

TARGET_B_OVER_A = 0.70
TARGET_D_OVER_B = 0.60
TARGET_C_P99_MS = 25.0

LIST_TERMS = ["梯度", "收敛", "部署", "训练", "参数量", "精度", "attention", "batch", "softmax", "dropout",
              "归一化", "过拟合", "warmup", "backbone", "移动端"]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: str
    bytes_per_response: float  # headers included: a 304 is a few hundred bytes, a view a few KB


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, data: bytes | None = None, timeout: float = 10.0,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    return http_full(url, data, timeout, headers)[:2]


def http_full(url: str, data: bytes | None = None, timeout: float = 10.0,
              headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers (a 304, like any non-2xx, comes back here rather than as an exception)."""
    headers = {**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})}
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # 127.0.0.1 only
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def wait_ready(proc: subprocess.Popen, url: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            status, _ = http(url, timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def start_server(app: str, port: int, env: dict[str, str], log: Path, app_dir: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--log-level", "warning", "--no-access-log"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def lua_string(s: str) -> str:
    level = "=" * 3
    while f"]{level}]" in s:
        level += "="
    return f"[{level}[{s}]{level}]"


def write_lua(path: Path, requests: list[tuple[str, str, str | None]],
              if_none_match: dict[str, str] | None = None) -> Path:
    """A wrk script cycling through (method, path, json body or None); with `if_none_match` (path -> ETag)
    each request sends its path's ETag in If-None-Match (and no Content-Type)."""
    def headers(p: str) -> str:
        if if_none_match is None:
            return "nil"
        return '{["If-None-Match"] = ' + lua_string(if_none_match[p]) + "}"

    rows = ",\n".join(
        "  {" + f"{lua_string(m)}, {lua_string(p)}, " + (lua_string(b) if b is not None else "nil")
        + f", {headers(p)}" + "}"
        for m, p, b in requests
    )
    path.write_text(
        "local reqs = {\n" + rows + "\n}\n"
        "local n = #reqs\n"
        "local i = 0\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        "function init(args)\n"
        "  i = math.random(n) - 1  -- threads start at different places in the rotation\n"
        "end\n"
        "function request()\n"
        "  i = i % n + 1\n"
        "  local r = reqs[i]\n"
        "  return wrk.format(r[1], r[2], r[4], r[3])  -- r[4] nil: wrk.headers\n"
        "end\n",
        encoding="utf-8",
    )
    return path


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(wrk: str, url: str, script: Path, duration: int, threads: int, connections: int) -> WrkResult:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    pcts = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    if not (rps and total and transfer and "50" in pcts and "99" in pcts):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    per_second = float(transfer.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[transfer.group(2)]
    return WrkResult(float(rps.group(1)), _ms(pcts["50"]), _ms(pcts["99"]), int(total.group(1)),
                     int(non2xx.group(1)) if non2xx else 0, errors.group(1).strip() if errors else "",
                     per_second / max(float(rps.group(1)), 1e-9))


def wait_for_quiet(max_load: float, max_wait: float) -> None:
    """Other work on a 2-core box ruins the numbers: wait (bounded) for the 1-minute load to drop."""
    if max_wait <= 0:
        return
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)
    load = os.getloadavg()[0]
    if load > max_load:
        print(f"WARNING: load average still {load:.2f} (> {max_load}) after {max_wait:.0f} s; results will be noisy")


def pick_requests(content, n_ids: int, seed: int = 7):
    """GET paths over every type, list queries, and check bodies for single / numeric / open questions."""
    from bench_scoring import OPEN_PARTIAL  # type: ignore[import-not-found]

    rng = random.Random(seed)
    questions = list(content.questions)
    sample = rng.sample(questions, min(n_ids, len(questions)))
    get = [("GET", f"/api/v1/questions/{q.id}", None) for q in sample]

    topics = sorted(content.indexes["topic"])
    lists = []
    for topic in rng.sample(topics, min(20, len(topics))):
        for term in rng.sample(LIST_TERMS, 4):
            total = len(content.filter(topics=(topic,), q=term))
            if total:
                lists.append(("GET", f"/api/v1/questions?topic={quote(topic)}&q={quote(term)}", None, total))
    rng.shuffle(lists)

    def body(answer, seed=None) -> str:
        return json.dumps({"answer": answer, "seed": seed}, ensure_ascii=False)

    def plain(x: float):
        return int(x) if float(x).is_integer() else x

    by_type: dict[str, list] = {}
    for q in sample:
        by_type.setdefault(q.type, []).append(q)
    checks = {
        "single": [("POST", f"/api/v1/questions/{q.id}/check", body(q.correct_keys[0])) for q in by_type["single"]],
        "numeric": [("POST", f"/api/v1/questions/{q.id}/check", body(plain(q.answer))) for q in by_type["numeric"]],
        "open": [("POST", f"/api/v1/questions/{q.id}/check", body(OPEN_PARTIAL)) for q in by_type["open"]],
    }
    return get, lists, checks, by_type


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--content", type=Path, help="content directory (default: generate 10k questions)")
    parser.add_argument("--questions", type=int, default=10_000, help="questions to generate (default 10000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="runs per scenario, best kept (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=20, help="wrk connections (default 20)")
    parser.add_argument("--ids", type=int, default=2000, help="question ids to rotate over (default 2000)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of untimed wrk per scenario (default 3)")
    parser.add_argument("--quiet-below", type=float, default=1.0,
                        help="wait for the 1-minute load average to drop below this first (default 1.0)")
    parser.add_argument("--quiet-wait", type=float, default=180,
                        help="longest wait for that, seconds; 0 = do not wait (default 180)")
    parser.add_argument("--only", help="comma-separated subset of scenarios: "
                                       "a,b,b-static,b-304,c,d-single,d-numeric,d-open")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="what-if: serve bench/app_gc_frozen.py (the app + gc.freeze() after startup)")
    args = parser.parse_args(argv)
    kinds = ["single", "numeric", "open"]
    scenarios = ["a", "b", "b-static", "b-304", "c", *(f"d-{k}" for k in kinds)]
    wanted = args.only.split(",") if args.only else scenarios
    if not {"a", "b"} <= set(wanted) or not set(wanted) <= set(scenarios):
        parser.error(f"--only takes names from {','.join(scenarios)} and must include a and b")

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk not found: apt-get install -y wrk")
        return 2
    from app.content.loader import load_content

    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="mianjing-http-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            content_dir = args.content
            if content_dir is None:
                from make_synthetic_bank import generate  # type: ignore[import-not-found]

                content_dir = tmp / "content"
                generate(content_dir, args.questions)
            content_dir = content_dir.resolve()
            content = load_content(content_dir)
            print(f"content: {content_dir} ({len(content.questions)} questions)")

            env = {**os.environ, "MIANJING_CONTENT_DIR": str(content_dir),
                   "MIANJING_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "MIANJING_LOG_LEVEL": "warning",
                   "MIANJING_ENV": "development", "PYTHONPATH": str(ROOT)}
            cli = Path(sys.executable).with_name("mianjing")
            cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "app.cli"]
            subprocess.run([*cmd, "db", "upgrade"], cwd=ROOT, env=env, check=True, timeout=120)

            port_app, port_bare = free_port(), free_port()
            app_url, bare_url = f"http://127.0.0.1:{port_app}", f"http://127.0.0.1:{port_bare}"
            if args.gc_freeze:
                procs.append(start_server("app_gc_frozen:app", port_app, env, tmp / "app.log", app_dir=BENCH))
            else:
                procs.append(start_server("app.main:app", port_app, env, tmp / "app.log"))
            wait_ready(procs[-1], app_url + "/healthz", tmp / "app.log")

            get, lists, checks, by_type = pick_requests(content, args.ids)
            generated_ids = {q.id for q in by_type.get("generated", [])}
            static = [r for r in get if r[1].rsplit("/", 1)[1] not in generated_ids]
            # A typical view: the median size over the first 300 ids of the rotation.
            sizes = []
            for _, path, _ in get[:300]:
                status, data = http(app_url + path)
                assert status == 200, (path, status)
                sizes.append(data)
            views = sorted(sizes, key=len)
            typical = views[len(views) // 2]
            (tmp / "view.json").write_bytes(typical)
            print(f"typical question view: {len(typical)} bytes (median of {len(views)}; "
                  f"min {len(views[0])}, max {len(views[-1])})")
            bare_env = {**env, "BENCH_BARE_BODY_FILE": str(tmp / "view.json")}
            procs.append(start_server("bare_app:app", port_bare, bare_env, tmp / "bare.log", app_dir=BENCH))
            wait_ready(procs[-1], bare_url + "/api/v1/questions/x", tmp / "bare.log")
            # (b-304): each fixed item's ETag from a first GET; sent back, it must come back as a 304.
            etags: dict[str, str] = {}
            if "b-304" in wanted:
                for _, path, _ in static:
                    status, _, headers = http_full(app_url + path)
                    assert status == 200 and headers.get("etag"), (path, status, headers)
                    etags[path] = headers["etag"]
                for _, path, _ in static[:20]:
                    status, data = http(app_url + path, headers={"If-None-Match": etags[path]})
                    assert status == 304 and not data, (path, status, data[:300])

            # Sanity: every kind of request succeeds before anything is timed.
            for kind, reqs in [("list", [r[:3] for r in lists[:5]]), *[(k, v[:5]) for k, v in checks.items()]]:
                for _method, path, body in reqs:
                    status, data = http(app_url + path, body.encode() if body else None)
                    assert status == 200, (kind, path, status, data[:300])
            sample_check = {k: json.loads(http(app_url + v[0][1], v[0][2].encode())[1]) for k, v in checks.items()}

            scripts = {
                "a": (bare_url, write_lua(tmp / "get.lua", get)),
                "b": (app_url, write_lua(tmp / "get_app.lua", get)),
                "b-static": (app_url, write_lua(tmp / "get_static.lua", static)),
                "b-304": (app_url, write_lua(tmp / "get_304.lua", static, if_none_match=etags)),
                "c": (app_url, write_lua(tmp / "list.lua", [r[:3] for r in lists])),
            }
            for k in kinds:
                script = write_lua(tmp / f"check_{k}.lua", checks[k])
                scripts[f"d-{k}"] = (app_url, script)
            print(f"rotating over {len(get)} ids ({', '.join(f'{t} {len(v)}' for t, v in sorted(by_type.items()))}), "
                  f"{len(lists)} list queries, check ids: "
                  + ", ".join(f"{k} {len(v)}" for k, v in checks.items()))
            for k, resp in sample_check.items():
                print(f"  sample check {k}: score {resp['score']}, {resp['feedback'][:50]}")

            def wrk_run(name: str, duration: int) -> WrkResult:
                url, script = scripts[name]
                return run_wrk(wrk, url + "/", script, duration, args.threads, args.connections)

            wait_for_quiet(args.quiet_below, args.quiet_wait)
            load_before = os.getloadavg()
            print(f"warm-up: {args.warmup} s per scenario")
            for name in wanted:
                wrk_run(name, args.warmup)

            results: dict[str, list[WrkResult]] = {name: [] for name in wanted}
            for r in range(args.rounds):
                order = ["a", "b"] if r % 2 == 0 else ["b", "a"]
                for name in [*order, *(n for n in scripts if n not in ("a", "b") and n in wanted)]:
                    res = wrk_run(name, args.duration)
                    results[name].append(res)
                    print(f"  round {r + 1} {name:9s} {res.rps:9.1f} req/s  p50 {res.p50_ms:7.2f} ms  "
                          f"p99 {res.p99_ms:7.2f} ms  non-2xx {res.non2xx}  {res.bytes_per_response:6.0f} B/resp"
                          + (f"  errors{res.socket_errors}" if res.socket_errors else ""))
        finally:
            for proc in reversed(procs):
                stop_server(proc)

    best = {name: max(runs, key=lambda x: x.rps) for name, runs in results.items()}
    a, b = best["a"], best["b"]
    labels = {
        "a": "(a) bare FastAPI, GET constant view",
        "b": "(b) app GET /api/v1/questions/{id}",
        "b-static": "(b') same, non-generated ids only (info)",
        "b-304": "(b-304) same ids as (b'), If-None-Match: 304 (info)",
        "c": "(c) app GET /api/v1/questions?topic=&q=",
        "d-single": "(d) app POST .../check, single",
        "d-numeric": "(d) app POST .../check, numeric",
        "d-open": "(d) app POST .../check, open (~300 chars)",
    }

    def verdict(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    notes = {
        "a": "",
        "b": f"(b)/(a) = {b.rps / a.rps:.2f} (target >= {TARGET_B_OVER_A:.2f}) {verdict(b.rps / a.rps >= TARGET_B_OVER_A)}",
    }
    if "b-static" in best:
        notes["b-static"] = f"(b')/(a) = {best['b-static'].rps / a.rps:.2f} (not a target)"
    if "b-304" in best:
        notes["b-304"] = f"(b-304)/(a) = {best['b-304'].rps / a.rps:.2f}" + (
            f", (b-304)/(b') = {best['b-304'].rps / best['b-static'].rps:.2f}" if "b-static" in best else "") + (
            " (not a target)")
    if "c" in best:
        c = best["c"]
        notes["c"] = f"p99 {c.p99_ms:.1f} ms (target < {TARGET_C_P99_MS:g} ms) {verdict(c.p99_ms < TARGET_C_P99_MS)}"
    for k in kinds:
        if f"d-{k}" in best:
            ratio = best[f"d-{k}"].rps / b.rps
            notes[f"d-{k}"] = (f"(d)/(b) = {ratio:.2f} (target >= {TARGET_D_OVER_B:.2f}) "
                               f"{verdict(ratio >= TARGET_D_OVER_B)}")
    print()
    if args.gc_freeze:
        print("WHAT-IF RUN: (b)-(d) served by bench/app_gc_frozen.py (app + gc.freeze()), not app.main:app")
    load_after = os.getloadavg()
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, best of {args.rounds}; "
          f"{os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print()
    print("| scenario | req/s | p50 | p99 | non-2xx | ratio / target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, label in labels.items():
        if name not in best:
            continue
        res = best[name]
        print(f"| {label} | {res.rps:,.0f} | {res.p50_ms:.2f} ms | {res.p99_ms:.2f} ms | {res.non2xx} | {notes[name]} |")
    bad = [n for n, runs in results.items() for x in runs if x.non2xx or x.socket_errors]
    if bad:
        print(f"\nWARNING: non-2xx responses or socket errors in: {', '.join(sorted(set(bad)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
