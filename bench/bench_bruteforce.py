"""Online password guessing against the login limits: 1,000 guesses of one account's password, spread over
several client addresses (two threads each), against `mianjing serve --workers 2`.

The server trusts X-Forwarded-For from 127.0.0.1 (MIANJING_TRUSTED_PROXIES=127.0.0.1), so each attacker
thread names its address in that header, as clients behind a reverse proxy would be named. The attacker
knows the rules: it sleeps until its address may guess again by them, then guesses (a 429 makes it retry
after --poll seconds). Meanwhile the account's owner logs in from an address of their own every second.

The least time the guesses can take is computed from the same settings by the rules of app/rate_limits.py
(least_time() below): per (account, address), `free` failures, then waits of backoff, 2 x backoff, ...
up to the longest wait; per address, at most `per_address` failures in any hour. Both waits scale with
--scale, so a run takes about a minute (--scale 0.001: a first wait of 1 ms, a longest of 0.9 s); the bound
at full scale is computed by the same function from the unscaled settings.

    python bench/bench_bruteforce.py                         # SQLite, 10 addresses, --scale 0.001
    python bench/bench_bruteforce.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Reports the guesses the server checked (401s), the time they took against the least time, guesses
answered before the rules allowed them (must be 0), and the owner's logins (must all succeed). Exits 1
when a guess came early, the guesses took less than the least time, or the owner was refused. Traffic
goes only to 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import argparse
import bisect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
FIXTURE_CONTENT = REPO / "tests" / "fixtures" / "valid"
VICTIM, PASSWORD = "victim", "correct horse battery staple"  # noqa: S105 - a benchmark value
HOUR, DAY = 3600.0, 86400.0  # the per-address window and the per-(account, address) memory (app/rate_limits.py)


@dataclass(frozen=True)
class Rules:
    free: int  # MIANJING_LIMIT_LOGIN_FREE_FAILURES
    backoff: float  # MIANJING_LIMIT_LOGIN_BACKOFF_SECONDS
    longest: float  # MIANJING_LIMIT_LOGIN_BACKOFF_MAX_SECONDS
    per_address: int  # MIANJING_LIMIT_LOGIN_FAILURES_PER_ADDRESS_PER_HOUR

    def scaled(self, scale: float) -> Rules:
        return Rules(self.free, self.backoff * scale, self.longest * scale, self.per_address)


def next_allowed(rules: Rules, events: list[float], now: float) -> float:
    """The earliest time >= now at which one address (guessing one account) may fail once more, given the
    times of its earlier failures (sorted), by the rules of app/rate_limits.py: (a) per (account, address)
    the back-off over the failures of the last day, (b) per address the failures of the last hour."""
    if not events:
        return now
    last = events[-1]

    def pair_ok(t: float) -> bool:
        n = len(events) - bisect.bisect_right(events, t - DAY)  # failures in (t - day, t]
        if n < rules.free:
            return True
        extra = n - rules.free
        return t >= last + (rules.longest if extra >= 40 else min(rules.longest, rules.backoff * 2**extra))

    def address_ok(t: float) -> bool:
        return len(events) - bisect.bisect_right(events, t - HOUR) < rules.per_address

    # Both tests only get easier as t grows (old failures leave the windows), so the earliest allowed time
    # is one of the times where a test can change: a wait ending, or a failure leaving a window.
    candidates = {now}
    candidates |= {last + min(rules.longest, rules.backoff * 2**k) for k in range(41)}
    candidates |= {e + w for e in events for w in (HOUR, DAY)}
    return min(t for t in candidates if t >= now and pair_ok(t) and address_ok(t))


def least_time(rules: Rules, guesses: int, addresses: int) -> float:
    """Seconds from the first guess to the last for `guesses` spread evenly over `addresses`, each address
    guessing as early as the rules allow (they run in parallel: the busiest address decides)."""
    busiest = -(-guesses // addresses)
    events: list[float] = []
    for _ in range(busiest):
        events.append(next_allowed(rules, events, events[-1] if events else 0.0))
    return events[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, rules: Rules, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANJING_")}
    env.update({
        "PYTHONPATH": str(REPO), "MIANJING_DATABASE_URL": db_url, "MIANJING_CONTENT_DIR": str(FIXTURE_CONTENT),
        "MIANJING_ENV": "test", "MIANJING_SECRET_KEY": "bench-bruteforce", "MIANJING_LOG_LEVEL": "warning",
        "MIANJING_WORKERS": "2", "MIANJING_TRUSTED_PROXIES": "127.0.0.1",
        "MIANJING_LIMIT_LOGIN_FREE_FAILURES": str(rules.free),
        "MIANJING_LIMIT_LOGIN_BACKOFF_SECONDS": repr(rules.backoff),
        "MIANJING_LIMIT_LOGIN_BACKOFF_MAX_SECONDS": repr(rules.longest),
        "MIANJING_LIMIT_LOGIN_FAILURES_PER_ADDRESS_PER_HOUR": str(rules.per_address),
    })
    log = log_path.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not become ready; see {log_path}")


@dataclass
class Address:
    """One attacking address: its quota, the guesses the server checked (client clock, from the run's start),
    a lock for its threads."""

    ip: str
    quota: int
    checked: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered) of each 401
    early: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0

    def sent_before(self, t: float) -> list[float]:
        """When the guesses answered by `t` were sent: no later than the server counted them."""
        return sorted(sent for sent, done in self.checked if done <= t)


def attack(base: str, addr: Address, rules: Rules, t0: float, poll: float, stop_at: float) -> None:
    headers = {"X-Forwarded-For": addr.ip}
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.monotonic() < stop_at:
            with addr.lock:
                if len(addr.checked) + addr.in_flight >= addr.quota:
                    return
                # As early as the rules could allow (a 429 just means: a little later).
                now = time.monotonic() - t0
                earliest = next_allowed(rules, addr.sent_before(now), now)
                addr.in_flight += 1
            pause = t0 + earliest - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent = time.monotonic() - t0
            r = http.post("/api/v1/auth/token", json={"username": VICTIM, "password": f"guess-{uuid.uuid4().hex}"},
                          headers=headers)
            done = time.monotonic() - t0
            with addr.lock:
                addr.in_flight -= 1
                if r.status_code == 401:
                    # The server counted this guess by `done`, and each guess answered before this one was
                    # sent no earlier than it was sent: the most lenient reading of the rules. A guess
                    # answered before even that allows is one the limits let through early.
                    if done < next_allowed(rules, addr.sent_before(sent), 0.0):
                        addr.early += 1
                    addr.checked.append((sent, done))
                elif r.status_code == 429:
                    addr.refused += 1
                else:
                    raise SystemExit(f"unexpected {r.status_code}: {r.text}")
            if r.status_code == 429:
                time.sleep(poll)


def owner_logins(base: str, stop: threading.Event, results: list[tuple[int, float]]) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.is_set():
            t = time.monotonic()
            r = http.post("/api/v1/auth/token", json={"username": VICTIM, "password": PASSWORD},
                          headers={"X-Forwarded-For": "198.51.100.200"})
            results.append((r.status_code, time.monotonic() - t))
            stop.wait(1.0)


def run(label: str, db_url: str, args: argparse.Namespace, work: Path) -> bool:
    rules = Rules(args.free, args.backoff, args.longest, args.per_address)
    fast = rules.scaled(args.scale)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = work / f"server-{label}.log"
    proc = start_server(db_url, fast, port, log_path)
    try:
        r = httpx.post(f"{base}/api/v1/auth/register", json={"username": VICTIM, "password": PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.200"}, timeout=30)
        assert r.status_code == 201, r.text
        per = [args.guesses // args.addresses + (i < args.guesses % args.addresses) for i in range(args.addresses)]
        addresses = [Address(f"203.0.113.{i + 1}", quota) for i, quota in enumerate(per)]
        bound = least_time(fast, args.guesses, args.addresses)
        t0 = time.monotonic()
        stop_at = t0 + max(60.0, bound * 3 + 60)
        stop_owner = threading.Event()
        owner: list[tuple[int, float]] = []
        threads = [threading.Thread(target=owner_logins, args=(base, stop_owner, owner))]
        threads += [threading.Thread(target=attack, args=(base, a, fast, t0, args.poll, stop_at))
                    for a in addresses for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads[1:]:
            t.join()
        elapsed = max(done for a in addresses for _, done in a.checked)
        stop_owner.set()
        threads[0].join()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    checked = sum(len(a.checked) for a in addresses)
    early = sum(a.early for a in addresses)
    refused = sum(a.refused for a in addresses)
    owner_ok = sum(code == 200 for code, _ in owner)
    owner_ms = sorted(s * 1000 for _, s in owner)
    full = least_time(rules, args.guesses, args.addresses)
    print(f"\n{label}: {args.guesses} guesses of one password from {args.addresses} addresses x {args.threads} "
          f"threads, 2 workers, time x{args.scale:g}")
    print(f"  guesses checked (401)     {checked}")
    print(f"  refused (429, retried)    {refused}")
    print(f"  first to last guess       {elapsed:.1f} s")
    print(f"  least time by the rules   {bound:.1f} s   measured / least = {elapsed / bound:.2f}")
    print(f"  guesses before allowed    {early}")
    print(f"  owner's logins meanwhile  {owner_ok} of {len(owner)} succeeded"
          + (f" (p50 {owner_ms[len(owner_ms) // 2]:.0f} ms, max {owner_ms[-1]:.0f} ms)" if owner_ms else ""))
    print(f"  at full scale (free {rules.free}, waits {rules.backoff:g} s .. {rules.longest:g} s, "
          f"{rules.per_address}/h per address): least time {full:,.0f} s = {full / 3600:.1f} h")
    ok = checked == args.guesses and early == 0 and elapsed >= bound and owner_ok == len(owner) > 0
    print("  verdict                   " + ("held" if ok else "FAILED"))
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--guesses", type=int, default=1000)
    ap.add_argument("--addresses", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2, help="threads per address (guesses race each other)")
    ap.add_argument("--scale", type=float, default=0.001, help="factor on both back-off waits for the run")
    ap.add_argument("--free", type=int, default=5, help="MIANJING_LIMIT_LOGIN_FREE_FAILURES (full scale)")
    ap.add_argument("--backoff", type=float, default=1.0, help="MIANJING_LIMIT_LOGIN_BACKOFF_SECONDS (full scale)")
    ap.add_argument("--longest", type=float, default=900.0, help="MIANJING_LIMIT_LOGIN_BACKOFF_MAX_SECONDS")
    ap.add_argument("--per-address", type=int, default=200,
                    help="MIANJING_LIMIT_LOGIN_FAILURES_PER_ADDRESS_PER_HOUR (not scaled: an hour is an hour)")
    ap.add_argument("--poll", type=float, default=0.005, help="seconds before retrying after a 429")
    ap.add_argument("--postgres", help="admin URL of a PostgreSQL server: also run on a fresh database there")
    ap.add_argument("--table", action="store_true", help="only print the least time at full scale for 1..1000 "
                                                          "addresses")
    args = ap.parse_args()
    rules = Rules(args.free, args.backoff, args.longest, args.per_address)
    if args.table:
        for n in (1, 2, 5, 10, 20, 50, 100, 200, 1000):
            t = least_time(rules, args.guesses, n)
            print(f"{args.guesses} guesses from {n:>4} addresses: at least {t:>12,.0f} s = {t / 3600:8.2f} h")
        return
    work = Path(tempfile.mkdtemp(prefix="mj-bruteforce-"))
    ok = run("SQLite", f"sqlite:///{work / 'bench.db'}", args, work)
    if args.postgres:
        from sqlalchemy import create_engine, text

        name = "bench_" + uuid.uuid4().hex[:10]
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            ok = run("PostgreSQL", args.postgres.rsplit("/", 1)[0] + "/" + name, args, work) and ok
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
