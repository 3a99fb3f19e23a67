"""Judging one submission: the expected outputs (cached), the candidate's run, the verdict.

Both the reference and the candidate run in sandboxes: the judge process never executes an item's code. The
reference's run yields the cases (examples, hidden, random from the item's seed) and the expected values; it is
done once per item version (`CodeSpec.fingerprint`) and kept. The candidate's sandbox receives only the inputs.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.content.model import CodeSpec
from app.judge.harness import decode
from app.judge.sandbox import RunResult, Sandbox, SandboxConfig, SandboxUnavailable, uid_pool_for
from app.scoring.code_verdicts import JudgedCase, build

REFERENCE_CPU_S = 20.0  # generous: the item's own code, the generator and reference together
FSIZE = 1 << 20
NOFILE = 32
CACHE_ITEMS = 512
CACHE_VERDICTS = 2048
DETERMINISTIC = ("accepted", "wrong_answer", "compile_error", "runtime_error")


class ItemBroken(RuntimeError):
    """The item's own tests or reference fail: a content bug (the content tests catch it first)."""


@dataclass(frozen=True, slots=True)
class Reference:
    cases: list[JudgedCase]
    encoded_args: list[Any]


class Engine:
    """Warm sandboxes, the reference cache and judging; one per judge process (app/judge/server.py)."""

    def __init__(self, cfg: SandboxConfig, concurrency: int) -> None:
        self.cfg = cfg
        self.uids = uid_pool_for(cfg)
        self.concurrency = concurrency
        self.slots = asyncio.Semaphore(concurrency)
        self.warm: asyncio.Queue[Sandbox] = asyncio.Queue()
        self._warming = 0
        self.references: collections.OrderedDict[str, Reference] = collections.OrderedDict()
        # Verdicts that the same source on the same item always gets again (not the limits, which depend on
        # the machine's load): an interview's finish re-judges what its 提交 judged a minute ago.
        self.verdicts: collections.OrderedDict[tuple[str, str, str], dict[str, Any]] = collections.OrderedDict()
        self._ref_locks: dict[str, asyncio.Lock] = {}

    async def probe(self) -> None:
        """Start one sandbox (kept warm): raises SandboxUnavailable when bubblewrap cannot run here."""
        box = Sandbox(self.cfg, self.uids)
        await box.start()
        await self.warm.put(box)
        self._refill()

    def _refill(self) -> None:
        # One more than run at once: a sandbox takes ~0.1 s to start, a small job less, so the next job in a
        # slot would otherwise find none ready and start one cold.
        missing = self.concurrency + 1 - self.warm.qsize() - self._warming
        for _ in range(max(0, missing)):
            self._warming += 1
            asyncio.get_running_loop().create_task(self._warm_one())

    async def _warm_one(self) -> None:
        box = Sandbox(self.cfg, self.uids)
        try:
            await box.start()
            await self.warm.put(box)
        except Exception:  # noqa: BLE001 - a failed warm-up is retried by the next take
            await box.kill()
        finally:
            self._warming -= 1

    async def _run(self, job: dict, wall_s: float) -> RunResult:
        async with self.slots:
            try:
                box = self.warm.get_nowait()
            except asyncio.QueueEmpty:
                box = Sandbox(self.cfg, self.uids)
                await box.start()
            self._refill()
            return await box.run(job, wall_s)

    async def reference(self, spec: CodeSpec) -> Reference:
        key = spec.fingerprint()
        if key in self.references:
            self.references.move_to_end(key)
            return self.references[key]
        async with self._ref_locks.setdefault(key, asyncio.Lock()):
            if key in self.references:
                return self.references[key]
            job = {"mode": "reference", "source": spec.reference, "entry": spec.entry, "wrapper": spec.wrapper,
                   "tests": spec.tests, "seed": spec.seed, "random": spec.random_cases, "cpu": REFERENCE_CPU_S,
                   "mem": 1024 << 20, "fsize": FSIZE, "nofile": NOFILE, "capture": False}
            run = await self._run(job, REFERENCE_CPU_S * 2)
            listed = next((m for m in run.messages if m.get("t") == "cases"), None)
            fatal = next((m for m in run.messages if m.get("t") == "fatal"), None)
            if listed is None or fatal is not None:
                raise ItemBroken(f"the item's tests or reference did not run: {fatal or run.ended} {run.stderr[-500:]}")
            outputs = {m["i"]: m for m in run.messages if m.get("t") == "case"}
            cases = []
            for i, case in enumerate(listed["cases"]):
                out = outputs.get(i)
                if out is None or not out.get("ok"):
                    raise ItemBroken(f"the reference fails case {i} ({case['label']}): {out}")
                cases.append(JudgedCase(case["kind"], case["label"], tuple(decode(case["args"], np)),
                                        decode(out["value"], np)))
            ref = Reference(cases, [c["args"] for c in listed["cases"]])
            self.references[key] = ref
            while len(self.references) > CACHE_ITEMS:
                self.references.popitem(last=False)
            self._ref_locks.pop(key, None)
            return ref

    async def judge(self, spec: CodeSpec, source: str, mode: str) -> dict[str, Any]:
        """The verdict of `source` on the item's shown cases (mode "examples") or all of them ("submit")."""
        key = (spec.fingerprint(), hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(), mode)
        if key in self.verdicts:
            self.verdicts.move_to_end(key)
            return {**self.verdicts[key], "cached": True}
        verdict = await self._judge(spec, source, mode)
        if verdict["status"] in DETERMINISTIC:
            self.verdicts[key] = verdict
            while len(self.verdicts) > CACHE_VERDICTS:
                self.verdicts.popitem(last=False)
        return verdict

    async def _judge(self, spec: CodeSpec, source: str, mode: str) -> dict[str, Any]:
        started = time.perf_counter()
        ref = await self.reference(spec)
        chosen = [i for i, c in enumerate(ref.cases) if mode == "submit" or c.kind == "example"]
        cases = [ref.cases[i] for i in chosen]
        job = {"mode": "candidate", "source": source, "entry": spec.entry, "wrapper": spec.wrapper,
               "cases": [ref.encoded_args[i] for i in chosen], "cpu": spec.time_limit_s,
               "mem": spec.memory_mb << 20, "fsize": FSIZE, "nofile": NOFILE, "capture": mode == "examples"}
        run = await self._run(job, spec.time_limit_s * 2 + 1)
        actuals: dict[int, Any] = {}
        for msg in run.messages:
            i = msg.get("i")
            if msg.get("t") == "case" and msg.get("ok") and isinstance(i, int) and i not in actuals:
                try:
                    actuals[i] = decode(msg.get("value"), np)
                except (ValueError, TypeError, KeyError, RecursionError):
                    pass  # an output that is not a value: wrong answer
        done = next((m for m in run.messages if m.get("t") == "done"), {})
        stdout = str(done.get("stdout") or "")[:65536] if mode == "examples" else ""
        verdict = build(cases, run.messages, actuals, ended=run.ended, returncode=run.returncode,
                        rule=spec.compare, rtol=spec.rtol, atol=spec.atol, stdout=stdout)
        verdict["wall_ms"] = round((time.perf_counter() - started) * 1000, 1)
        verdict["cpu_ms"] = round(sum(float(r["ms"] or 0) for r in verdict["cases"]), 1)
        return verdict


__all__ = ["Engine", "ItemBroken", "SandboxUnavailable"]
