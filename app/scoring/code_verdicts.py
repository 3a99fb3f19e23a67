"""A code submission's verdict, from what the sandbox reported: per case, then overall. Pure.

Shown cases (examples) tell everything: the input, the expected and the actual value, the error's last frame
in the candidate's code. Hidden and random cases tell only their kind and status, and of an error only its type,
so that no message can carry a hidden input or expected value out of the judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.scoring.code_compare import compare

STATUSES = ("passed", "wrong_answer", "runtime_error", "time_limit", "memory_limit", "output_limit", "not_run")
PREVIEW_CHARS = 400
SIGXCPU_EXIT = 128 + 24  # bwrap passes on the harness's death by RLIMIT_CPU as this exit status


@dataclass(frozen=True, slots=True)
class JudgedCase:
    kind: str  # example | hidden | random
    label: str
    args: tuple
    expected: Any


def preview(value: Any) -> str:
    """A readable, bounded rendering of a value (numpy arrays summarised past a few hundred items)."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=60, precision=6, separator=", ")
        text = f"array({text}, dtype={value.dtype})" if value.dtype.kind != "f" or value.dtype != np.float64 else \
            f"array({text})"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(preview(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        text = repr(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _first_per_case(messages: list[dict], n: int) -> dict[int, dict]:
    """The harness's line for each case; a forked copy of the harness may repeat one, the first counts."""
    out: dict[int, dict] = {}
    for msg in messages:
        i = msg.get("i")
        if msg.get("t") == "case" and isinstance(i, int) and 0 <= i < n and i not in out:
            out[i] = msg
    return out


def build(cases: list[JudgedCase], messages: list[dict], actuals: dict[int, Any], *, ended: str,
          returncode: int | None, rule: str, rtol: float, atol: float, stdout: str = "") -> dict[str, Any]:
    """The verdict: {status, passed, total, score, cases: [...], error, stdout}. `actuals` holds the decoded
    return value of each case that returned one (a value that could not be decoded is missing)."""
    fatal = next((m for m in messages if m.get("t") == "fatal"), None)
    per_case = _first_per_case(messages, len(cases))
    rows: list[dict[str, Any]] = []
    stop: str | None = None  # why the run ended early, given to the first case without a line
    if fatal is None and len(per_case) < len(cases):
        if ended == "wall_timeout" or returncode == SIGXCPU_EXIT:
            stop = "time_limit"
        elif ended == "output_limit":
            stop = "output_limit"
        else:
            stop = "runtime_error"
    for i, case in enumerate(cases):
        shown = case.kind == "example"
        row: dict[str, Any] = {"kind": case.kind, "label": case.label, "status": "not_run", "ms": None}
        if shown:
            row["input"] = preview(case.args if len(case.args) != 1 else case.args[0])
            row["expected"] = preview(case.expected)
        msg = per_case.get(i)
        if fatal is not None:
            row["status"] = "not_run"
        elif msg is None:
            if stop is not None:
                row["status"], stop = stop, None
                if row["status"] == "runtime_error":
                    row["error"] = {"type": "ProcessExit", "message": "进程意外退出" if shown else ""}
        else:
            row["ms"] = msg.get("ms")
            if msg.get("ok") and i in actuals:
                why = compare(actuals[i], case.expected, rule, rtol, atol)
                row["status"] = "passed" if why is None else "wrong_answer"
                if why is not None and shown:
                    row["actual"] = preview(actuals[i])
                    row["reason"] = why
            elif msg.get("ok"):
                row["status"] = "wrong_answer"
                if shown:
                    row["reason"] = "返回值无法读取"
            else:
                limit = msg.get("limit")
                row["status"] = {"memory": "memory_limit", "output": "output_limit"}.get(limit, "runtime_error")
                error = msg.get("error") if isinstance(msg.get("error"), dict) else {}
                if row["status"] == "runtime_error":
                    row["error"] = _error(error, shown)
        rows.append(row)
    passed = sum(r["status"] == "passed" for r in rows)
    total = len(rows)
    if fatal is not None:
        status = "compile_error"
    elif passed == total:
        status = "accepted"
    else:
        status = next(r["status"] for r in rows if r["status"] != "passed")
    verdict: dict[str, Any] = {"status": status, "passed": passed, "total": total,
                               "score": passed / total if total else 0.0, "cases": rows}
    if fatal is not None:
        verdict["error"] = _error(fatal.get("error") if isinstance(fatal.get("error"), dict) else {}, True)
    if stdout:
        verdict["stdout"] = stdout
    return verdict


def _error(error: dict, shown: bool) -> dict[str, Any]:
    """The error as the candidate sees it: everything for a shown case, only the type for a hidden one."""
    kind = str(error.get("type", "Error"))[:80]
    if not shown:
        return {"type": kind}
    frame = error.get("frame") if isinstance(error.get("frame"), dict) else None
    out: dict[str, Any] = {"type": kind, "message": str(error.get("message", ""))[:500]}
    if frame:
        out["line"] = frame.get("line") if isinstance(frame.get("line"), int) else None
        out["code"] = str(frame.get("code", ""))[:200]
    return out


def not_judged(reason: str) -> dict[str, Any]:
    """The verdict of a code answer no judge could run at an interview's finish: scored 0, saying why."""
    return {"status": "not_judged", "passed": 0, "total": 0, "score": 0.0, "cases": [],
            "error": {"type": "NotJudged", "message": reason[:300]}, "wall_ms": 0.0, "cpu_ms": 0.0}


def feedback(verdict: dict[str, Any]) -> tuple[str, tuple[dict[str, Any], ...]]:
    """One Chinese sentence and the feedback codes (DESIGN: results are data) for a verdict."""
    status, passed, total = verdict["status"], verdict["passed"], verdict["total"]
    if status == "accepted":
        return f"全部 {total} 个用例通过。", ({"code": "code_accepted", "total": total},)
    if status == "not_judged":
        return "没有判题：判题服务此时无法运行，这一题记 0 分。", ({"code": "code_not_judged"},)
    if status == "compile_error":
        return "代码无法运行（语法错误或缺少要求的函数），没有执行任何用例。", (
            {"code": "code_compile_error", "total": total},)
    names = {"wrong_answer": "答案错误", "runtime_error": "运行出错", "time_limit": "超时",
             "memory_limit": "超出内存", "output_limit": "输出过多"}
    return f"通过 {passed}/{total} 个用例；第一个未通过的用例：{names.get(status, status)}。", (
        {"code": "code_failed", "status": status, "passed": passed, "total": total},)
