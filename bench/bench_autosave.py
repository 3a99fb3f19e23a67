"""Autosave under load: 16 connections, each saving into its own interview, then count what survived.

Starts `mianjing serve` (SQLite with 1 worker, or PostgreSQL with 2 workers), creates one guest and one
interview per connection, and drives PUT /api/v1/interviews/{id}/answers/{pos} with wrk for DURATION
seconds. Each wrk thread remembers the last answer the server acknowledged per position; afterwards the
database must hold exactly one row per (interview, position), with at least that acknowledged value.

    python bench/bench_autosave.py --duration 60
    python bench/bench_autosave.py --duration 60 --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
from harness import start_serve  # bench/harness.py, beside this script
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "valid"
POSITIONS = 4

LUA = r"""
local ids, tokens = {}, {}
%(table)s
local counter = 0
local n = 0
function setup(thread)
  thread:set("idx", n)
  n = n + 1
end
function init(args)
  me = idx %% #ids + 1
  acked = {}
end
function request()
  counter = counter + 1
  pos = counter %% %(positions)d
  body = '{"answer":"c' .. me .. '-' .. counter .. '"}'
  return wrk.format("PUT", "/api/v1/interviews/" .. ids[me] .. "/answers/" .. pos,
    {["Authorization"] = "Bearer " .. tokens[me], ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 200 then
    local p, a = body:match('"position":(%%d+).-"answer":"([^"]+)"')
    if p then acked[tonumber(p)] = a; _G["ack" .. p] = a end
  elseif status >= 500 then
    errors5 = (errors5 or 0) + 1
  end
end
threads = {}
local orig_setup = setup
function setup(thread) table.insert(threads, thread); orig_setup(thread) end
function done(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  for i, t in ipairs(threads) do
    local me = t:get("me")
    for p = 0, %(positions)d - 1 do
      local a = t:get("ack" .. p)
      if a then out:write(me, " ", p, " ", a, "\n") end
    end
  end
  out:write("summary ", summary.requests, " ", summary.errors.status, " ", latency:percentile(50), " ",
            latency:percentile(99), " ", summary.duration, "\n")
  out:close()
end
"""


# Every guest of the run comes from 127.0.0.1: limits above what it creates.
BENCH_LIMITS = {"MIANJING_LIMIT_GUESTS_PER_HOUR": "100000", "MIANJING_LIMIT_INTERVIEWS_PER_DAY": "100000"}


def start_server(db_url: str, workers: int, content: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "MIANJING_DATABASE_URL": db_url, "MIANJING_CONTENT_DIR": str(content),
           "MIANJING_LOG_LEVEL": "warning", **BENCH_LIMITS}
    return start_serve(REPO, env, workers, ready_within=30)


def run(label: str, db_url: str, workers: int, duration: int, connections: int) -> dict:
    content = Path(tempfile.mkdtemp()) / "content"
    shutil.copytree(FIXTURE, content)
    # A long round so the deadline never interferes with the load.
    rnd = content / "rounds" / "mini.md"
    rnd.write_text(rnd.read_text(encoding="utf-8").replace("duration: 10", "duration: 600"), encoding="utf-8")
    proc, base = start_server(db_url, workers, content)
    try:
        ids, tokens = [], []
        for _ in range(connections):
            tok = httpx.post(f"{base}/api/v1/auth/guest").json()["access_token"]
            iid = httpx.post(f"{base}/api/v1/interviews", json={"round": "mini"},
                             headers={"Authorization": f"Bearer {tok}"}).json()["id"]
            ids.append(iid)
            tokens.append(tok)
        out = Path(tempfile.mkdtemp()) / "acked.txt"
        table = "\n".join(f'ids[{i + 1}] = "{iid}"; tokens[{i + 1}] = "{tok}"'
                          for i, (iid, tok) in enumerate(zip(ids, tokens, strict=True)))
        script = Path(tempfile.mkdtemp()) / "autosave.lua"
        script.write_text(LUA % {"table": table, "positions": POSITIONS, "out": out})
        wrk = subprocess.run(["wrk", f"-t{connections}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
                              "-s", str(script), base], capture_output=True, text=True, check=True)
        fields = {}
        acked: dict[tuple[int, int], str] = {}
        for line in out.read_text().splitlines():
            parts = line.split()
            if parts[0] == "summary":
                reqs, non2xx, p50, p99, micros = map(float, parts[1:])
                fields = {"requests": int(reqs), "non_2xx": int(non2xx), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
                          "saves_per_s": reqs / (micros / 1e6)}
            else:
                acked[(int(parts[0]), int(parts[1]))] = parts[2]
        socket_errors = re.search(r"Socket errors: (.*)", wrk.stdout)
        fields["socket_errors"] = socket_errors.group(1) if socket_errors else "none"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # Verify in the database: one row per position, holding the acknowledged answer or a later one.
    engine = create_engine(db_url)
    lost = 0
    with engine.connect() as conn:
        dupes = conn.execute(text("SELECT count(*) FROM (SELECT interview_id, position FROM interviewanswer "
                                  "GROUP BY interview_id, position HAVING count(*) > 1) d")).scalar()
        for (me, pos), value in acked.items():
            stored = conn.execute(text("SELECT answer FROM interviewanswer WHERE interview_id = :i AND position = :p"),
                                  {"i": ids[me - 1], "p": pos}).scalar()
            stored = json.loads(stored) if isinstance(stored, str) and stored.startswith('"') else stored
            if stored is None or int(str(stored).split("-")[1]) < int(value.split("-")[1]):
                lost += 1
    engine.dispose()
    fields.update(label=label, acked_checked=len(acked), lost=lost, duplicates=int(dupes or 0))
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", help="PostgreSQL admin URL; a fresh database is created for the run")
    args = parser.parse_args()
    from app.db import upgrade

    results = []
    sqlite_url = f"sqlite:///{tempfile.mkdtemp()}/autosave.db"
    upgrade(sqlite_url)
    results.append(run("SQLite, 1 worker", sqlite_url, 1, args.duration, args.connections))
    if args.postgres:
        name = "bench_" + uuid.uuid4().hex[:8]
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.postgres.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        results.append(run("PostgreSQL, 2 workers", url, 2, args.duration, args.connections))
    print(f"\nAutosave: {args.connections} connections, {args.duration} s, each into its own interview\n")
    print("| database | saves/s | p50 ms | p99 ms | non-2xx | socket errors | acknowledged checked | lost | duplicates |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['saves_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non_2xx']} | "
              f"{r['socket_errors']} | {r['acked_checked']} | {r['lost']} | {r['duplicates']} |")


if __name__ == "__main__":
    main()
