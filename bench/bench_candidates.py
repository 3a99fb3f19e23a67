"""Signed-in candidates sitting the TP-Link first round, driven by wrk, before and after, side by side.

For each target (a source tree × a database) it starts `mianjing serve` (SQLite: 1 worker; PostgreSQL:
2 workers), signs up CANDIDATES guests over the API, starts the round `tplink-cv-1` for each, and runs:

- mixed: what candidates do in an interview — autosaves of open answers at random positions (60%),
  interview reads (15%), moves (10%), question views (10%), signed-in checks (5%), each request made by a
  random candidate with their bearer token;
- one scenario per route alone (anonymous question view, interview read, autosave, move, signed-in and
  anonymous check of an objective item), for the ratios ../shared/DESIGN.md holds them to, and a signed-in
  check of an open item with a spoken ~250-character answer (check_open: the open grader on the request path);
- slow: the mixed load again while SLOW clients each send the headers of `POST /login` and then dribble
  its body over 10 s (the p99 of everyone else must not move).

    python bench/bench_candidates.py                           # this tree, SQLite
    python bench/bench_candidates.py --before c9120a9 --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres

`--before REF` checks REF out into a temporary worktree and measures it in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from harness import start_serve  # bench/harness.py, beside this script
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
ROUND = "tplink-cv-1"
OPEN_ANSWER = ("sigmoid 的输出恒为正，反向传播时同一层权重的梯度符号相同，只能一起增大或一起减小，"
               "更新路径呈之字形，收敛变慢；tanh 以零为中心可以缓解。")

LUA = r"""
local c = {}
%(table)s
local mode = "%(mode)s"
local answer = '%(answer)s'
math.randomseed(os.time() + %(salt)d)
local function auth(me) return {["Authorization"] = "Bearer " .. me.t, ["Content-Type"] = "application/json"} end
local function save(me)
  local p = me.open[math.random(#me.open)]
  return wrk.format("PUT", "/api/v1/interviews/" .. me.i .. "/answers/" .. p, auth(me),
    '{"answer":"' .. answer .. math.random(1000000) .. '"}')
end
local function read(me) return wrk.format("GET", "/api/v1/interviews/" .. me.i, auth(me)) end
local function move(me)
  return wrk.format("POST", "/api/v1/interviews/" .. me.i .. "/position", auth(me),
    '{"position":' .. math.random(0, me.n - 1) .. '}')
end
local function view(me, anon)
  local q = me.q[math.random(#me.q)]
  local headers = anon and {} or auth(me)
  return wrk.format("GET", "/api/v1/questions/" .. q.id .. q.seed, headers)
end
local function check(me, anon)
  local headers = anon and {["Content-Type"] = "application/json"} or auth(me)
  return wrk.format("POST", "/api/v1/questions/" .. me.k.id .. "/check", headers, me.k.body)
end
local function check_open(me)
  return wrk.format("POST", "/api/v1/questions/" .. me.o.id .. "/check", auth(me), me.o.body)
end
function request()
  local me = c[math.random(#c)]
  if mode == "read" then return read(me) end
  if mode == "save" then return save(me) end
  if mode == "move" then return move(me) end
  if mode == "view_anon" then return view(me, true) end
  if mode == "check_signed" then return check(me, false) end
  if mode == "check_anon" then return check(me, true) end
  if mode == "check_open" then return check_open(me) end
  local r = math.random(100)
  if r <= 60 then return save(me) elseif r <= 75 then return read(me) elseif r <= 85 then return move(me)
  elseif r <= 95 then return view(me, false) else return check(me, false) end
end
"""

MODES = ("mixed", "view_anon", "read", "save", "move", "check_signed", "check_anon", "check_open")
# A spoken ~250-character open answer, as candidates type them (one of eval/tune.jsonl's voices): what the
# signed-in open check (check_open) grades.
OPEN_ANSWER = ("嗯…就是说，下一层的输入是上一层 sigmoid 的输出，全都大于零，所以同一个神经元所有权重的梯度要么一起往上、"
               "要么一起往下，方向被锁死在两个象限里。最优方向要一部分权重变大一部分变小的话，就只能走 Z 字形来回蹭，"
               "收敛就慢。换成 tanh 这种零中心的，或者输入先减均值、加 BN，会好很多；不过 mini-batch 平均以后影响没有"
               "饱和导致的梯度消失那么严重。")


def lua_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string literal is a valid Lua one (UTF-8 kept raw: Lua has no \\u)


def prepare_db(kind: str, tree: Path, admin_url: str | None, tmp: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        name = "bench_" + uuid.uuid4().hex[:10]
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = admin_url.rsplit("/", 1)[0] + "/" + name
    # The tree before #13 did not migrate at startup: do it for both, the same way.
    subprocess.run([sys.executable, "-c", f"from app.db import upgrade; upgrade({url!r})"], cwd=tree,
                   env={**os.environ, "PYTHONPATH": str(tree)}, check=True, timeout=300)
    return url


def start_server(tree: Path, db_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "MIANJING_DATABASE_URL": db_url,
           "MIANJING_CONTENT_DIR": str(tree / "content"), "MIANJING_LOG_LEVEL": "warning",
           "MIANJING_ENV": "development",
           # every candidate signs up from 127.0.0.1: limits above what the run creates
           "MIANJING_LIMIT_GUESTS_PER_HOUR": "100000", "MIANJING_LIMIT_INTERVIEWS_PER_DAY": "100000"}
    return start_serve(tree, env, workers)


def sign_up(base: str, count: int) -> list[dict]:
    """Guests with a running first round each: token, interview, positions, questions to view and check."""
    out = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(count):
            token = http.post("/api/v1/auth/guest").json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            state = http.post("/api/v1/interviews", json={"round": ROUND}, headers=headers).json()
            items = state["questions"]
            views = [{"id": it["question"]["id"],
                      "seed": f"?seed={it['question']['seed']}" if it["question"]["seed"] is not None else ""}
                     for it in items]
            objective = next(it["question"] for it in items if it["question"]["type"] in ("single", "numeric"))
            body = {"answer": objective["options"][0]["key"] if objective["options"] else "42"}
            open_q = next(it["question"] for it in items if it["question"]["type"] == "open")
            out.append({"t": token, "i": state["id"], "n": len(items), "q": views,
                        "open": [it["position"] for it in items if it["question"]["type"] == "open"] or [0],
                        "k": {"id": objective["id"], "body": json.dumps(body)},
                        "o": {"id": open_q["id"], "body": json.dumps({"answer": OPEN_ANSWER}, ensure_ascii=False)}})
    return out


def lua_table(candidates: list[dict]) -> str:
    lines = []
    for i, cand in enumerate(candidates, 1):
        views = ", ".join(f"{{id={lua_str(v['id'])}, seed={lua_str(v['seed'])}}}" for v in cand["q"])
        opens = ", ".join(str(p) for p in cand["open"])
        lines.append(f"c[{i}] = {{t={lua_str(cand['t'])}, i={lua_str(cand['i'])}, n={cand['n']}, q={{{views}}}, "
                     f"open={{{opens}}}, k={{id={lua_str(cand['k']['id'])}, body={lua_str(cand['k']['body'])}}}, "
                     f"o={{id={lua_str(cand['o']['id'])}, body={lua_str(cand['o']['body'])}}}}}")
    return "\n".join(lines)


def wrk(base: str, script: Path, duration: int, connections: int) -> dict:
    run = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency",
                          "-s", str(script), base], capture_output=True, text=True, timeout=duration + 60, check=True)
    text_out = run.stdout

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text_out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text_out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text_out)
    sock = re.search(r"Socket errors: (.*)", text_out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sock.group(1) if sock else ""}


def dribble(base: str, clients: int, seconds: float, stop: threading.Event) -> None:
    """Clients that send the headers of a form post and then its body a few bytes at a time."""
    host, port = base.removeprefix("http://").split(":")
    body = b"username=slow&password=" + b"x" * 40 + b"&csrf_token=" + b"0" * 64
    socks = []
    for _ in range(clients):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        socks.append(s)
    step = max(1, len(body) // 20)
    for offset in range(0, len(body), step):
        if stop.wait(seconds / 20):
            break
        for s in socks:
            try:
                s.sendall(body[offset:offset + step])
            except OSError:
                pass
    for s in socks:
        s.close()


def measure(label: str, tree: Path, kind: str, workers: int, args, tmp: Path) -> dict[str, dict]:
    """Each scenario on a fresh database and server, so that no run inherits another's rows or stalls."""
    results: dict[str, dict] = {}
    for mode in (args.only.split(",") if args.only else (*MODES, "slow")):
        url = prepare_db(kind, tree, args.postgres, tmp)
        proc, base = start_server(tree, url, workers)
        try:
            table = lua_table(sign_up(base, args.candidates))
            script = tmp / f"{label}-{mode}.lua"
            script.write_text(LUA % {"table": table, "mode": "mixed" if mode == "slow" else mode,
                                     "answer": OPEN_ANSWER, "salt": len(results)}, encoding="utf-8")
            duration = args.duration if mode in ("mixed", "slow") else args.route_duration
            stop = threading.Event()
            slow = None
            if mode == "slow":
                slow = threading.Thread(target=dribble, args=(base, args.slow_clients, 10.0, stop))
                slow.start()
                time.sleep(0.5)  # every slow client is connected and waiting on its body
            try:
                results[mode] = wrk(base, script, duration, args.connections)
            finally:
                stop.set()
                if slow:
                    slow.join()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        r = results[mode]
        print(f"{label:28} {mode:13} {r['rps']:8.0f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
              f"non-2xx {r['non2xx']}  {r['socket_errors']}", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="git ref to measure side by side (checked out into a temporary worktree)")
    ap.add_argument("--postgres", help="admin URL of a PostgreSQL server: adds PostgreSQL with 2 workers")
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--duration", type=int, default=20, help="seconds of the mixed and slow-client runs")
    ap.add_argument("--route-duration", type=int, default=8, help="seconds of each route-alone run")
    ap.add_argument("--slow-clients", type=int, default=20)
    ap.add_argument("--only", help="comma-separated scenarios (" + ",".join((*MODES, "slow")) + ")")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="mianjing-candidates-"))
    trees = [("after", REPO)]
    if args.before:
        before = tmp / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(before), args.before],
                       check=True, capture_output=True)
        trees.insert(0, (f"before ({args.before})", before))
    kinds = [("sqlite", 1)] + ([("postgres", 2)] if args.postgres else [])
    all_results = {}
    try:
        for kind, workers in kinds:
            for name, tree in trees:
                label = f"{name} {kind}×{workers}"
                all_results[label] = measure(label.replace(" ", "_").replace("×", "x"), tree, kind, workers, args, tmp)
    finally:
        if args.before:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tmp / "before")],
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("| target | scenario | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---:|---:|---:|---:|")
    for label, results in all_results.items():
        for mode, r in results.items():
            print(f"| {label} | {mode} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['non2xx']} |")
    print()
    print("| target | read / view | save / view | move / view | signed check / anon check | slow p99 − mixed p99 (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, r in all_results.items():
        if not all(m in r for m in ("view_anon", "read", "save", "move", "check_signed", "check_anon")):
            continue
        view = r["view_anon"]["rps"]
        slow = f"{r['slow']['p99'] - r['mixed']['p99']:+.1f}" if "slow" in r and "mixed" in r else "—"
        print(f"| {label} | {view / r['read']['rps']:.2f}× | {view / r['save']['rps']:.2f}× | "
              f"{view / r['move']['rps']:.2f}× | {r['check_anon']['rps'] / r['check_signed']['rps']:.2f}× | {slow} |")


if __name__ == "__main__":
    main()
