"""Ordinary candidates alone, then beside abusive guests, side by side in one run: what the abuse costs the
candidates (p50 / p99) and how much the database grows per abusive address, against the documented cap.

For each database (SQLite with 1 worker; PostgreSQL with 2, given --pg-url or MIANJING_TEST_POSTGRES_URL)
two scenarios, each on a fresh database and a fresh `mianjing serve` at the default limits (every limit
passed explicitly at its default; MIANJING_TRUSTED_PROXIES=127.0.0.1, so X-Forwarded-For names each
client's address):

- alone: CANDIDATES signed-in guests (a class, 100 behind each address 10.100.k.1) sitting the TP-Link
  first round with the mixed load of bench_candidates.py: autosaves of open answers at random positions
  60%, interview reads 15%, moves 10%, question views 10%, signed-in checks 5%. Each candidate waits a
  think time (uniform, mean --think seconds) between requests, as a person does, so the offered load is
  the same in both scenarios;
- abuse: the same candidates, and ABUSERS abusive clients from --addresses addresses (10.66.x.y), each
  pushing at and past its limits as fast as the server answers: autosaves of 20,000 random CJK characters
  (a new position while the interview has one, then overwrites), practice checks of open questions with
  20,000-character answers, interview starts of the largest round (abandoning the running one), and a new
  guest whenever its account is refused (a quota or the daily interview cap) -- so the guests per address
  and every per-address quota are pushed too. A refusal of an address limit is knocked on again after
  --knock seconds, whatever Retry-After says.

Candidates and abusers run in processes of their own (httpx, asyncio), so that the abusers' client work
does not sit in the candidates' event loop; all of it shares the machine's cores with the server.
The database's size is read before and after each run (SQLite: the file and its WAL; PostgreSQL:
pg_database_size); what the abusive run added beyond the candidates' own run, per abusive address, is
set against the cap of docs/security.md ("Growth cap"), computed here from the same settings.

    python bench/bench_abuse.py [--pg-url URL] [--duration 40] [--candidates 100] [--abusers 200]
    python bench/bench_abuse.py --row-costs [--pg-url URL]   # the stored sizes the cap is computed from
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from harness import start_serve, timed  # bench/harness.py, beside this script
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.settings import Settings  # noqa: E402

CONTENT = REPO / "content"
ROUND = "tplink-cv-1"
OPEN_ANSWER = ("sigmoid 的输出恒为正，反向传播时同一层权重的梯度符号相同，只能一起增大或一起减小，"
               "更新路径呈之字形，收敛变慢；tanh 以零为中心可以缓解。")
HUGE = 20_000  # characters: MIANJING_MAX_ANSWER_CHARS at its default
CLASS_SIZE = 100  # candidates behind one address, as the defaults are meant for
LIMIT_FIELDS = [name for name in Settings.model_fields if name.startswith("limit_")]


# --- the cap (docs/security.md, "Growth cap") ------------------------------------------------------------


@dataclass(frozen=True)
class StoredSizes:
    """Bytes the database grows by, per thing stored: `--row-costs 2000` (2026-12-02), the larger of SQLite
    and PostgreSQL, rounded up. Answer text is counted apart, per character."""

    account: int = 1_000  # a guest or a registered account: its user row, its session, its rate-limit event (625 / 819)
    login: int = 600  # a login: a session and its rate-limit event (533 / 492)
    failure: int = 700  # a failed login: two rate-limit events (549 / 692)
    interview: int = 120_000  # the largest bundled round started: the row, its frozen plan, two events (115,446 / 47,186)
    position: int = 3_200  # one of its positions answered and finished: answer row, attempt, review card (3,082 / 2,180)
    write: int = 1_000  # the most a counted write stores beside its text: a check's attempt and new review card
    # (559 / 541), and the quota counters of a new account (two rows of ~200)
    char: int = 12  # bytes per character of answer text at most: an astral character is two \u escapes (12.1 / 4.5)
    finish_copies: int = 2  # an interview answer is stored again at its finish, in its attempt (CJK: 12.2 / 8.0
    # bytes per character saved and finished)


def growth_cap(s: Settings, z: StoredSizes, positions: int) -> list[tuple[str, str, int]]:
    """The terms of the most one client address can add to the database in a clock hour: (what, formula, bytes).
    `positions`: the most positions an interview of the published rounds has."""
    g, r, logins = s.limit_guests_per_hour, s.limit_registrations_per_hour, s.limit_logins_per_address_per_hour
    f, i = s.limit_login_failures_per_address_per_hour, s.limit_interviews_per_address_per_hour
    w, c = s.limit_writes_per_address_per_minute, s.limit_answer_chars_per_address_per_hour
    return [
        ("guests and registrations", f"({g} + {r}) × {z.account:,}", (g + r) * z.account),
        ("logins", f"{logins} × {z.login:,}", logins * z.login),
        ("failed logins", f"{f} × {z.failure:,}", f * z.failure),
        ("interviews", f"{i} × ({z.interview:,} + {positions} × {z.position:,})", i * (z.interview + positions * z.position)),
        ("answer-carrying writes", f"60 × {w} × {z.write:,}", 60 * w * z.write),
        ("answer text", f"{c:,} × {z.char} × {z.finish_copies}", c * z.char * z.finish_copies),
    ]


def cap_bytes(s: Settings, positions: int) -> int:
    return sum(term[2] for term in growth_cap(s, StoredSizes(), positions))


# --- servers and databases -------------------------------------------------------------------------------


def default_limits() -> dict[str, str]:
    """Every limit at its default, passed explicitly: what is measured is the defaults, whatever .env says."""
    return {f"MIANJING_{name.upper()}": str(Settings.model_fields[name].default) for name in LIMIT_FIELDS}


def new_database(kind: str, pg_url: str | None, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'abuse-{uuid.uuid4().hex[:6]}.db'}"
    assert pg_url
    name = "bench_abuse_" + uuid.uuid4().hex[:8]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str, pg_url: str | None) -> None:
    if url.startswith("sqlite") or not pg_url:
        return
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def database_size(url: str) -> int:
    """SQLite: the file and its WAL, as they are on disk; PostgreSQL: pg_database_size (dead rows included)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()


def serve(url: str, workers: int, limits: dict[str, int] | None = None) -> tuple[Any, str]:
    """`mianjing serve` at the default limits, but for `limits` ({"limit_guests_per_hour": 30, ...})."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANJING_")}
    env.update({"PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": url, "MIANJING_CONTENT_DIR": str(CONTENT),
                "MIANJING_ENV": "development", "MIANJING_LOG_LEVEL": "warning", "MIANJING_TRUSTED_PROXIES": "127.0.0.1",
                **default_limits(), **{f"MIANJING_{k.upper()}": str(v) for k, v in (limits or {}).items()}})
    return start_serve(REPO, env, workers)


def stop(proc: Any) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except Exception:  # noqa: BLE001 - a server that does not stop is killed
        proc.kill()


# --- candidates ------------------------------------------------------------------------------------------


def class_address(i: int) -> str:
    return f"10.100.{i // CLASS_SIZE}.1"


def sign_up(base: str, count: int) -> list[dict]:
    """Guests with the first round running each, `CLASS_SIZE` behind each class address."""
    out = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for n in range(count):
            xff = {"X-Forwarded-For": class_address(n)}
            r = http.post("/api/v1/auth/guest", headers=xff)
            r.raise_for_status()
            headers = {**xff, "Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post("/api/v1/interviews", json={"round": ROUND}, headers=headers)
            r.raise_for_status()
            items = r.json()["questions"]
            objective = next(it["question"] for it in items if it["question"]["type"] in ("single", "numeric"))
            out.append({
                "h": headers, "i": r.json()["id"], "n": len(items),
                "views": [(it["question"]["id"], it["question"]["seed"]) for it in items],
                "open": [it["position"] for it in items if it["question"]["type"] == "open"] or [0],
                "check": (objective["id"], {"answer": objective["options"][0]["key"] if objective["options"] else "42"}),
            })
    return out


def candidate_request(c: dict, rng: random.Random) -> tuple[str, str, Any]:
    r = rng.randint(1, 100)
    if r <= 60:
        return "PUT", f"/api/v1/interviews/{c['i']}/answers/{rng.choice(c['open'])}", \
            {"answer": OPEN_ANSWER + str(rng.randint(1, 1_000_000))}
    if r <= 75:
        return "GET", f"/api/v1/interviews/{c['i']}", None
    if r <= 85:
        return "POST", f"/api/v1/interviews/{c['i']}/position", {"position": rng.randrange(c["n"])}
    if r <= 95:
        qid, seed = rng.choice(c["views"])
        return "GET", f"/api/v1/questions/{qid}" + (f"?seed={seed}" if seed is not None else ""), None
    qid, body = c["check"]
    return "POST", f"/api/v1/questions/{qid}/check", body


async def _candidates(base: str, cands: list[dict], duration: float, think: float, seed: int) -> dict:
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    # Idle connections are dropped before the server's keep-alive timeout (5 s) can close one under a request.
    limits = httpx.Limits(max_connections=len(cands) + 8, max_keepalive_connections=len(cands) + 8, keepalive_expiry=4)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration

        async def one(k: int, c: dict) -> None:
            rng = random.Random(seed * 1000 + k)
            await asyncio.sleep(rng.uniform(0, 2 * think))  # spread the first requests
            while loop.time() < stop_at:
                method, url, body = candidate_request(c, rng)
                t = time.perf_counter()
                try:
                    r = await http.request(method, url, json=body, headers=c["h"])
                except httpx.HTTPError as exc:  # counted as a failure: a candidate never gets one
                    statuses[type(exc).__name__] += 1
                    continue
                finally:
                    latencies.append((time.perf_counter() - t) * 1000)
                    by_kind.setdefault(f"{method} {url.split('/')[3]}", []).append(latencies[-1])
                statuses[str(r.status_code)] += 1
                await asyncio.sleep(rng.uniform(0, 2 * think))

        await asyncio.gather(*(one(k, c) for k, c in enumerate(cands)))
    latencies.sort()
    kinds = {kind: (statistics.median(v), sorted(v)[min(len(v) - 1, int(len(v) * 0.99))], len(v))
             for kind, v in sorted(by_kind.items())}
    return {"requests": len(latencies), "p50": statistics.median(latencies), "kinds": kinds,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "statuses": dict(statuses),
            "rps": len(latencies) / duration}


def run_candidates(base: str, cands: list[dict], duration: float, think: float, seed: int) -> dict:
    return asyncio.run(_candidates(base, cands, duration, think, seed))


# --- abusers ---------------------------------------------------------------------------------------------


def abuser_address(i: int, addresses: int) -> str:
    a = i % addresses
    return f"10.66.{a // 250}.{a % 250 + 1}"


async def _abusers(base: str, count: int, addresses: int, duration: float, knock: float, rounds: list[str],
                   open_ids: list[str], seed: int) -> dict:
    rng0 = random.Random(seed)
    texts = ["".join(chr(rng0.randint(0x4E00, 0x9FFF)) for _ in range(HUGE)) for _ in range(12)]
    outcome: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=count + 8, max_keepalive_connections=count + 8, keepalive_expiry=4)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration

        async def one(k: int) -> None:
            rng = random.Random(seed * 1000 + k)
            xff = {"X-Forwarded-For": abuser_address(k, addresses)}
            me: dict[str, Any] = {"h": None, "i": None, "n": 0, "next": 0}

            async def call(op: str, method: str, url: str, body: Any = None) -> httpx.Response | None:
                try:
                    r = await http.request(method, url, json=body, headers={**xff, **(me["h"] or {})})
                except httpx.HTTPError as exc:
                    outcome[f"{op} {type(exc).__name__}"] += 1
                    return None
                outcome[f"{op} {r.status_code}"] += 1
                if r.status_code == 429:
                    if "这个账号" in r.text or "24 小时" in r.text:
                        me["h"] = None  # an account's quota or cap: carry on as a new guest
                    else:
                        await asyncio.sleep(knock)  # an address's: knock again soon, past its Retry-After
                return r

            while loop.time() < stop_at:
                if me["h"] is None:
                    me["h"], me["i"] = None, None
                    r = await call("guest", "POST", "/api/v1/auth/guest")
                    if r is not None and r.status_code == 201:
                        me["h"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                    continue
                op = rng.choices(("save", "check", "start"), weights=(70, 20, 10))[0]
                if me["i"] is None or op == "start":
                    if me["i"] is not None:
                        await call("abandon", "POST", f"/api/v1/interviews/{me['i']}/abandon")
                    r = await call("start", "POST", "/api/v1/interviews", {"round": rng.choice(rounds)})
                    if r is not None and r.status_code == 201:
                        me["i"], me["n"], me["next"] = r.json()["id"], len(r.json()["questions"]), 0
                    elif r is not None and r.status_code == 409:
                        me["i"], me["n"], me["next"] = r.json()["active_interview_id"], 1, 0
                    continue
                if op == "save":
                    position = me["next"] % me["n"]
                    me["next"] += 1
                    r = await call("save", "PUT", f"/api/v1/interviews/{me['i']}/answers/{position}",
                                   {"answer": rng.choice(texts)})
                    if r is not None and r.status_code == 409:
                        me["i"] = None  # over (its time, or abandoned): start another
                else:
                    await call("check", "POST", f"/api/v1/questions/{rng.choice(open_ids)}/check",
                               {"answer": rng.choice(texts)})

        await asyncio.gather(*(one(k) for k in range(count)))
    return dict(outcome)


def run_abusers(base: str, count: int, addresses: int, duration: float, knock: float, rounds: list[str],
                open_ids: list[str], seed: int) -> dict:
    return asyncio.run(_abusers(base, count, addresses, duration, knock, rounds, open_ids, seed))


# --- one scenario ----------------------------------------------------------------------------------------


def content_facts(http: Any, xff: dict[str, str]) -> tuple[str, list[str], int]:
    """The round with the most positions (follow-ups included), the open questions, and that many positions:
    one interview of each round, by a guest of its own (`http`: an httpx.Client or a TestClient)."""
    token = http.post("/api/v1/auth/guest", headers=xff).json()["access_token"]
    headers = {**xff, "Authorization": f"Bearer {token}"}
    positions = {r["id"]: len(http.post("/api/v1/interviews", json={"round": r["id"]}, headers=headers)
                              .json()["questions"]) for r in http.get("/api/v1/rounds").json()}
    opens = [q["id"] for q in http.get("/api/v1/questions", params={"type": "open", "limit": 100}).json()["items"]]
    largest = max(positions, key=lambda r: positions[r])
    return largest, opens, positions[largest]


def scenario(kind: str, workers: int, abusive: bool, args: argparse.Namespace, tmp: Path) -> dict:
    url = new_database(kind, args.pg_url, tmp)
    proc, base = serve(url, workers, getattr(args, "limits", None))
    try:
        cands = sign_up(base, args.candidates)
        with httpx.Client(base_url=base, timeout=60) as http:
            largest, open_ids, positions = content_facts(http, {"X-Forwarded-For": "10.99.0.1"})
        before = database_size(url)
        with ProcessPoolExecutor(2) as pool:
            jobs = [pool.submit(run_candidates, base, cands, args.duration, args.think, 1)]
            if abusive:
                jobs.append(pool.submit(run_abusers, base, args.abusers, args.addresses, args.duration, args.knock,
                                        [largest], open_ids, 2))
            results = [job.result() for job in jobs]
        after = database_size(url)
    finally:
        stop(proc)
        drop_database(url, args.pg_url)
    out = {"candidates": results[0], "growth": after - before, "abusers": results[1] if abusive else None,
           "positions": positions}
    out["load"] = os.getloadavg()[0]
    c = out["candidates"]
    print(f"{kind}×{workers} {'abuse' if abusive else 'alone':5} (load {out['load']:.1f})  candidates {c['requests']} requests "
          f"({c['rps']:.0f}/s), p50 {c['p50']:.1f} ms, p99 {c['p99']:.1f} ms, statuses {c['statuses']}; "
          f"database +{out['growth'] / 1e6:.1f} MB", flush=True)
    print("    by request (p50 / p99 ms, n): " + "; ".join(
        f"{kind} {p50:.0f} / {p99:.0f} ({n})" for kind, (p50, p99, n) in c["kinds"].items()), flush=True)
    if abusive:
        print(f"    abusers: {json.dumps(out['abusers'], sort_keys=True)}", flush=True)
    return out


# --- the stored sizes the cap is computed from (--row-costs) --------------------------------------------


def settled_size(url: str) -> int:
    """What the database holds: SQLite's pages in use (checkpointed, free pages not counted: SQLite reuses
    them before it grows), PostgreSQL's pg_database_size."""
    if not url.startswith("sqlite"):
        return database_size(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, free, size = (conn.exec_driver_sql(f"PRAGMA {p}").scalar_one()
                                 for p in ("page_count", "freelist_count", "page_size"))
    finally:
        engine.dispose()
    return (pages - free) * size


def row_costs(kind: str, pg_url: str | None, tmp: Path, n: int) -> dict[str, float]:
    """Bytes per thing stored, each measured as the growth of the database over n (or n / 10) of them, through
    the app in-process (TestClient) with its limits out of the way."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    url = new_database(kind, pg_url, tmp)
    high = {name: 10**9 for name in LIMIT_FIELDS if "backoff" not in name}
    settings = Settings(_env_file=None, database_url=url, content_dir=CONTENT, env="test", secret_key="bench", **high)
    out: dict[str, float] = {}
    rng = random.Random(7)
    cjk = "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(HUGE))
    try:
        with TestClient(create_app(settings)) as client:
            def per(name: str, count: int, work) -> list[Any]:
                before = settled_size(url)
                made = [work(k) for k in range(count)]
                out[name] = (settled_size(url) - before) / count
                return made

            def guest(_k: int) -> dict[str, str]:
                return {"Authorization": f"Bearer {client.post('/api/v1/auth/guest').json()['access_token']}"}

            per("account", n, guest)
            client.post("/api/v1/auth/register", json={"username": "rowcosts", "password": "row costs 123"})
            per("login", n // 10, lambda k: client.post("/api/v1/auth/token",
                                                        json={"username": "rowcosts", "password": "row costs 123"}))
            per("failure", n, lambda k: client.post("/api/v1/auth/token",
                                                    json={"username": f"nobody{k}", "password": "wrong password"}))
            rounds = client.get("/api/v1/rounds").json()
            largest = max(rounds, key=lambda r: sum(s["question_count"] for s in r["sections"]))["id"]
            heads = [guest(k) for k in range(n // 10)]
            states = per("interview", len(heads), lambda k: client.post(
                "/api/v1/interviews", json={"round": largest}, headers=heads[k]).json())
            positions = len(states[0]["questions"])
            out["positions"] = positions

            def answer_all(k: int, answer: Any) -> None:
                for p in range(len(states[k]["questions"])):
                    client.put(f"/api/v1/interviews/{states[k]['id']}/answers/{p}", json={"answer": answer},
                               headers=heads[k])

            half = len(heads) // 2
            # A position answered (one character) and finished, over the first half of the interviews.
            before = settled_size(url)
            for k in range(half):
                answer_all(k, "A")
                client.post(f"/api/v1/interviews/{states[k]['id']}/finish", headers=heads[k])
            out["position"] = (settled_size(url) - before) / (half * positions)
            # 20,000 CJK characters at every position of the other half: bytes per character, then finished.
            chars = (len(heads) - half) * positions * HUGE
            before = settled_size(url)
            for k in range(half, len(heads)):
                answer_all(k, cjk)
            saved = settled_size(url)
            out["char (CJK, saved)"] = (saved - before) / chars
            for k in range(half, len(heads)):
                client.post(f"/api/v1/interviews/{states[k]['id']}/finish", headers=heads[k])
            out["char (CJK, saved and finished)"] = (settled_size(url) - before) / chars
            # The worst character for storage: outside the BMP, two \u escapes in the stored JSON.
            astral = "".join(chr(rng.randint(0x20000, 0x2A6DF)) for _ in range(HUGE))
            open_id = client.get("/api/v1/questions", params={"type": "open"}).json()["items"][0]["id"]
            before = settled_size(url)
            for k in range(n // 10):
                client.post(f"/api/v1/questions/{open_id}/check", json={"answer": astral}, headers=heads[k])
            out["char (astral, checked)"] = (settled_size(url) - before) / (n // 10 * HUGE)
            singles = [q["id"] for q in client.get("/api/v1/questions", params={"type": "single", "limit": 100})
                       .json()["items"]]
            checkers = [guest(k) for k in range(n // 10)]
            per("write", n, lambda k: client.post(  # each (account, question) once: each check a new card
                f"/api/v1/questions/{singles[k % len(singles)]}/check", json={"answer": "A"},
                headers=checkers[(k // len(singles)) % len(checkers)]))
    finally:
        drop_database(url, pg_url)
    return out


def request_costs(calls: int) -> list[tuple[str, float, float]]:
    """Median and p99 ms of each request the two sides make, in-process (TestClient over a SQLite file, no
    network), one at a time: what one request costs the server's event loop and threads. Admitted requests
    with the limits out of the way; refused ones (429) at a quota of one."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    tmp = Path(tempfile.mkdtemp(prefix="mianjing-costs-"))
    rng = random.Random(3)
    texts = ["".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(HUGE)) for _ in range(4)]
    high = {name: 10**9 for name in LIMIT_FIELDS if "backoff" not in name}
    out: list[tuple[str, float, float]] = []
    try:
        def app_with(**limits: int) -> Any:
            url = f"sqlite:///{tmp / f'costs-{uuid.uuid4().hex[:6]}.db'}"
            return create_app(Settings(_env_file=None, database_url=url, content_dir=CONTENT, env="test",
                                       secret_key="bench", **{**high, **limits}))

        with TestClient(app_with()) as client:
            def guest() -> dict[str, str]:
                return {"Authorization": f"Bearer {client.post('/api/v1/auth/guest').json()['access_token']}"}

            def measure(name: str, fn) -> None:
                out.append((name, *timed(fn, calls)))

            h = guest()
            state = client.post("/api/v1/interviews", json={"round": ROUND}, headers=h).json()
            iid, n = state["id"], len(state["questions"])
            opens = [it["position"] for it in state["questions"] if it["question"]["type"] == "open"]
            q = state["questions"][opens[0]]["question"]["id"]
            single = next(it["question"] for it in state["questions"] if it["question"]["type"] == "single")
            counter = iter(range(10**9))
            measure("candidate: question view (anonymous)", lambda: client.get(f"/api/v1/questions/{q}"))
            measure("candidate: interview read", lambda: client.get(f"/api/v1/interviews/{iid}", headers=h))
            measure("candidate: autosave of ~70 characters", lambda: client.put(
                f"/api/v1/interviews/{iid}/answers/{opens[0]}", json={"answer": OPEN_ANSWER + str(next(counter))},
                headers=h))
            measure("candidate: move", lambda: client.post(f"/api/v1/interviews/{iid}/position",
                                                           json={"position": next(counter) % n}, headers=h))
            measure("candidate: signed-in check (single choice)", lambda: client.post(
                f"/api/v1/questions/{single['id']}/check", json={"answer": single["options"][0]["key"]}, headers=h))
            largest, open_ids, _ = content_facts(client, {})
            measure("abuser: guest created", guest)
            starters = [guest() for _ in range(calls + 10)]
            measure(f"abuser: interview started ({largest})", lambda: client.post(
                "/api/v1/interviews", json={"round": largest}, headers=starters.pop()))
            measure("abuser: autosave of 20,000 characters (overwrite)", lambda: client.put(
                f"/api/v1/interviews/{iid}/answers/{opens[0]}", json={"answer": texts[next(counter) % 4]}, headers=h))
            measure("abuser: check of an open question, 20,000 characters", lambda: client.post(
                f"/api/v1/questions/{open_ids[next(counter) % len(open_ids)]}/check",
                json={"answer": texts[next(counter) % 4]}, headers=h))
        with TestClient(app_with(limit_writes_per_minute=1, limit_guests_per_hour=1)) as client:
            h = {"Authorization": f"Bearer {client.post('/api/v1/auth/guest').json()['access_token']}"}
            iid = client.post("/api/v1/interviews", json={"round": ROUND}, headers=h).json()["id"]
            client.put(f"/api/v1/interviews/{iid}/answers/0", json={"answer": "x"}, headers=h)
            out.append(("refused (429): autosave of 20,000 characters", *timed(lambda: client.put(
                f"/api/v1/interviews/{iid}/answers/0", json={"answer": texts[0]}, headers=h), calls)))
            out.append(("refused (429): check of 20,000 characters", *timed(lambda: client.post(
                f"/api/v1/questions/{open_ids[0]}/check", json={"answer": texts[0]}, headers=h), calls)))
            out.append(("refused (429): guest", *timed(lambda: client.post("/api/v1/auth/guest"), calls)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def print_row_costs(pg_url: str | None, n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mianjing-rowcosts-"))
    try:
        kinds = ["sqlite"] + (["postgres"] if pg_url else [])
        results = {kind: row_costs(kind, pg_url, tmp, n) for kind in kinds}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| stored | " + " | ".join(results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in next(iter(results.values())):
        print(f"| {name} | " + " | ".join(f"{r[name]:,.1f}" for r in results.values()) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-url", default=os.environ.get("MIANJING_TEST_POSTGRES_URL"),
                    help="admin URL of a PostgreSQL server (default: MIANJING_TEST_POSTGRES_URL); none: SQLite only")
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--abusers", default="200", help="abusive clients; a comma-separated list runs each count "
                    "beside the same candidates (e.g. 10,50,200)")
    ap.add_argument("--addresses", type=int, default=20, help="addresses the abusers come from")
    ap.add_argument("--duration", type=float, default=40, help="seconds of each run")
    ap.add_argument("--think", type=float, default=1.0, help="a candidate's mean pause between requests (s)")
    ap.add_argument("--knock", type=float, default=1.0, help="an abuser's pause after an address's 429 (s)")
    ap.add_argument("--only", choices=("sqlite", "postgres"), help="one database")
    ap.add_argument("--fair-turns", default=None, help="MIANJING_FAIR_TURNS values to compare side by side, "
                    "comma-separated (e.g. 4,0: fair turns, and switched off); default: the setting's default")
    ap.add_argument("--row-costs", type=int, nargs="?", const=2000, metavar="N",
                    help="instead: measure the stored sizes the cap is computed from, over N things of each kind")
    ap.add_argument("--costs", type=int, nargs="?", const=200, metavar="CALLS",
                    help="instead: what each request of either side costs the server, in-process (median, p99)")
    args = ap.parse_args()
    if args.costs:
        print("| request | median ms | p99 ms |")
        print("|---|---:|---:|")
        for name, median, p99 in request_costs(args.costs):
            print(f"| {name} | {median:.2f} | {p99:.2f} |")
        return
    if args.row_costs:
        print_row_costs(args.pg_url, args.row_costs)
        return
    kinds = [("sqlite", 1)] + ([("postgres", 2)] if args.pg_url else [])
    if args.only:
        kinds = [k for k in kinds if k[0] == args.only]
    counts = [int(n) for n in str(args.abusers).split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="mianjing-abuse-"))
    table = []
    turns = [None] if args.fair_turns is None else [int(n) for n in args.fair_turns.split(",")]
    try:
        for kind, workers in kinds:
            for fair in turns:
                setting = {} if fair is None else {"limits": {"fair_turns": fair}}
                alone = scenario(kind, workers, False, argparse.Namespace(**{**vars(args), **setting}), tmp)
                for count in counts:
                    abuse = scenario(kind, workers, True,
                                     argparse.Namespace(**{**vars(args), **setting, "abusers": count}), tmp)
                    label = kind if fair is None else f"{kind}, fair turns {fair}"
                    table.append((label, workers, count, alone, abuse))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    positions = max(abuse["positions"] for *_, abuse in table)
    cap = cap_bytes(Settings(_env_file=None), positions)
    print()
    print(f"{args.candidates} candidates (think {args.think} s), abusers from {args.addresses} addresses (knock "
          f"{args.knock} s), {args.duration:.0f} s a run, default limits; cap per address per clock hour "
          f"{cap / 1e6:,.0f} MB")
    print()
    print("| database | abusers | candidates alone: p50 / p99 ms | beside the abusers: p50 / p99 ms | p99 ratio "
          "| candidates' requests (refused) | abusers' requests (429) | growth per abusive address in the run "
          "| of the cap |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, workers, count, alone, abuse in table:
        a, b = alone["candidates"], abuse["candidates"]
        refused = sum(n for r in (a, b) for status, n in r["statuses"].items() if not status.startswith("2"))
        abusers = abuse["abusers"]
        limited = sum(n for k, n in abusers.items() if k.endswith(" 429"))
        per_address = (abuse["growth"] - alone["growth"]) / min(args.addresses, count)
        print(f"| {kind} ×{workers} | {count} | {a['p50']:.1f} / {a['p99']:.1f} | {b['p50']:.1f} / {b['p99']:.1f} | "
              f"{b['p99'] / a['p99']:.2f} | {a['requests'] + b['requests']} ({refused}) | "
              f"{sum(abusers.values())} ({limited}) | {per_address / 1e6:.2f} MB | {per_address / cap:.1%} |")


if __name__ == "__main__":
    main()
