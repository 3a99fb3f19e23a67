"""A smoke-sized run of bench/bench_abuse.py against a real `mianjing serve` (SQLite, one worker, the
default limits but 10 guests an hour per address (the 10 candidates share one), so that a few seconds reach it): the abusive guests are
refused (429s happen, for their accounts and for their addresses) and the candidates beside them never are. Correctness only: the timings are the bench's business
(docs/benchmarks.md)."""

from __future__ import annotations

import sys
from argparse import Namespace

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "bench"))

import bench_abuse  # noqa: E402 - bench/bench_abuse.py


def test_abusers_are_refused_and_candidates_never_are(tmp_path):
    args = Namespace(pg_url=None, candidates=10, abusers=20, addresses=2, duration=6.0, think=0.5, knock=0.5,
                     limits={"limit_guests_per_hour": 10})
    result = bench_abuse.scenario("sqlite", 1, True, args, tmp_path)
    candidates, abusers = result["candidates"], result["abusers"]
    assert candidates["requests"] > 50
    assert all(status.startswith("2") for status in candidates["statuses"]), candidates["statuses"]
    refused = {op: n for op, n in abusers.items() if op.endswith(" 429")}
    assert refused.get("save 429", 0) + refused.get("check 429", 0) > 0, abusers
    assert refused.get("guest 429", 0) > 0, abusers  # 10 guests an hour from each of the two addresses
    assert not any(op.endswith((" 500", " error")) for op in abusers), abusers
    # Never more than the documented cap per address at the default limits (the run is shorter than an hour).
    assert result["growth"] / args.addresses < bench_abuse.cap_bytes(bench_abuse.Settings(_env_file=None),
                                                                      result["positions"])
