"""The program that runs inside the sandbox: it never sees an expected value, only inputs.

It is started as ``python3 -I -c <this file's source>`` by app/judge/sandbox.py, so it imports nothing of the
project (the sandbox cannot read it): everything it needs is in this file, which the judge outside imports too,
for the value codec. Warm start: it imports numpy, says ``ready`` and waits for one job on stdin; it runs that
job and exits (a sandbox never serves two submissions).

Protocol, one JSON object per line on a private duplicate of stdout (fd 1 and 2 then point at /dev/null, and
``sys.stdout``/``sys.stderr`` at capped buffers, so what the code prints never mixes with the protocol):
  out: {"t": "ready"}
  in:  {"mode": "reference" | "candidate", "source", "entry", "wrapper", "tests", "seed", "random",
        "cases": [encoded args], "cpu": s, "mem": bytes, "fsize": bytes, "nofile": n}
  out: {"t": "case", "i", "ok": true, "value", "ms"} | {"t": "case", "i", "ok": false, "error": {...}, "ms"}
       reference mode first: {"t": "cases", "cases": [{"kind", "label", "args"}]}
       {"t": "fatal", "error": {...}} when the source does not compile or lacks the entry; {"t": "done"}
A line the code writes to the protocol fd itself can only claim outputs of its own, which are compared outside
against values it never sees: forging them gains nothing.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import time
import traceback

SOLUTION = "<solution>"
PRINT_CAP = 64 * 1024
SAFE_KINDS = "biufc"  # bool, int, uint, float, complex: dtypes whose bytes are only numbers


# ---------------------------------------------------------------- value codec (used outside too)
def encode(value, np=None):
    """A JSON-safe form of numbers, strings, lists, tuples, dicts, sets and numpy arrays and scalars."""
    if np is not None and isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind not in SAFE_KINDS:
            raise TypeError(f"不支持的数组类型 {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        return {"$nd": base64.b64encode(arr.tobytes()).decode(), "dtype": arr.dtype.str, "shape": list(arr.shape),
                "scalar": isinstance(value, np.generic)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, np) for v in value]}
    if isinstance(value, list):
        return [encode(v, np) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v, np) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(k, np), encode(v, np)] for k, v in value.items()]}
    raise TypeError(f"不支持的返回类型 {type(value).__name__}")


def decode(value, np, max_items=50_000_000):
    """The inverse of encode; strict about what it accepts, since outputs come from untrusted code."""
    if isinstance(value, list):
        return [decode(v, np, max_items) for v in value]
    if not isinstance(value, dict):
        return value
    if "$nd" in value:
        dtype = np.dtype(str(value["dtype"]))
        shape = tuple(int(d) for d in value["shape"])
        if dtype.kind not in SAFE_KINDS or any(d < 0 for d in shape) or len(shape) > 32:
            raise ValueError("bad array")
        raw = base64.b64decode(value["$nd"], validate=True)
        if math.prod(shape) * dtype.itemsize != len(raw) or math.prod(shape) > max_items:
            raise ValueError("bad array size")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return arr[()] if value.get("scalar") else arr
    if "$f" in value:
        return float(value["$f"])
    if "$tuple" in value:
        return tuple(decode(v, np, max_items) for v in value["$tuple"])
    if "$set" in value:
        return set(_hashable(decode(v, np, max_items)) for v in value["$set"])
    if "$dict" in value:
        return {_hashable(decode(k, np, max_items)): decode(v, np, max_items) for k, v in value["$dict"]}
    raise ValueError("bad value")


def _hashable(v):
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


# ---------------------------------------------------------------- running inside the sandbox
class _Capped:
    """sys.stdout/sys.stderr for the code: keeps the first 64 KiB; past that the write fails and is flagged."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.over = False

    def write(self, s) -> int:
        s = str(s)
        if self.size + len(s) > PRINT_CAP:
            self.over = True
            raise OutputLimit("输出超过 64 KiB")
        self.parts.append(s)
        self.size += len(s)
        return len(s)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.parts)


class OutputLimit(BaseException):
    """Raised by the capped print buffer; a BaseException, so `except Exception` in the code does not hide it."""


def _error(exc: BaseException, filename: str) -> dict:
    """The exception's type, message and the last frame inside the given code (never the harness's frames)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        frame = {"line": exc.lineno, "code": (exc.text or "").strip()}
    else:
        frame = {"line": frames[-1].lineno, "code": (frames[-1].line or "").strip()} if frames else None
    return {"type": type(exc).__name__, "message": str(exc)[:500], "frame": frame}


def _limits(job: dict) -> None:
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime + float(job["cpu"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + int(job["mem"]), vm + int(job["mem"])))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(job["fsize"]), int(job["fsize"])))
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(job["nofile"]), int(job["nofile"])))


def _load(source: str, entry: str, filename: str, namespace: dict):
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for the error's frame
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - inside the sandbox: running it is the point
    fn = namespace.get(entry)
    if not callable(fn):
        raise NameError(f"没有找到函数 {entry}")
    return fn


def main() -> None:
    sys.path.insert(0, "/judge/site")  # the judge's numpy, the only package the sandbox can see
    import numpy as np

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n")

    send({"t": "ready"})
    line = sys.stdin.readline()
    if not line:
        return
    job = json.loads(line)
    _limits(job)
    out = sys.stdout = _Capped()
    sys.stderr = out
    wrapper = None
    try:
        if job.get("wrapper"):
            wrapper = _load(job["wrapper"], "call", "<wrapper>", {"__name__": "wrapper"})
        if job["mode"] == "reference":
            tests: dict = {"__name__": "tests", "np": np}
            __import__("linecache").cache["<tests>"] = (0, None, job["tests"].splitlines(True), "<tests>")
            exec(compile(job["tests"], "<tests>", "exec"), tests)  # noqa: S102 - the item's tests, sandboxed
            cases = [("example", label, args) for label, args in tests.get("EXAMPLES", [])]
            cases += [("hidden", label, args) for label, args in tests.get("HIDDEN", [])]
            if job.get("random") and callable(tests.get("generate")):
                rng = np.random.default_rng(int(job.get("seed", 0)))
                cases += [("random", f"随机 {i + 1}", tests["generate"](rng)) for i in range(int(job["random"]))]
            arg_lists = [tuple(args) for _, _, args in cases]
            send({"t": "cases", "cases": [{"kind": k, "label": str(lab), "args": encode(tuple(a), np)}
                                          for k, lab, a in cases]})
            fn = _load(job["source"], job["entry"], "<reference>", {"__name__": "reference"})
        else:
            fn = _load(job["source"], job["entry"], SOLUTION, {"__name__": "solution"})
            arg_lists = [tuple(decode(a, np)) for a in job["cases"]]
    except BaseException as exc:  # noqa: BLE001 - the code's own failure is the verdict
        send({"t": "fatal", "error": _error(exc, SOLUTION if job["mode"] == "candidate" else "<reference>")})
        return
    filename = SOLUTION if job["mode"] == "candidate" else "<reference>"
    for i, args in enumerate(arg_lists):
        start = time.perf_counter()
        try:
            result = wrapper(fn, *args) if wrapper else fn(*args)
            value = encode(result, np)
            msg = {"t": "case", "i": i, "ok": True, "value": value}
        except MemoryError as exc:
            msg = {"t": "case", "i": i, "ok": False, "error": {"type": "MemoryError", "message": str(exc)[:200],
                                                           "frame": None}, "limit": "memory"}
        except OutputLimit:
            msg = {"t": "case", "i": i, "ok": False, "error": {"type": "OutputLimit", "message": "", "frame": None},
                   "limit": "output"}
        except BaseException as exc:  # noqa: BLE001
            msg = {"t": "case", "i": i, "ok": False, "error": _error(exc, filename)}
        if out.over:
            msg = {"t": "case", "i": i, "ok": False, "error": {"type": "OutputLimit", "message": "", "frame": None},
                   "limit": "output"}
        msg["ms"] = round((time.perf_counter() - start) * 1000, 3)
        try:
            send(msg)
        except (TypeError, ValueError) as exc:
            send({"t": "case", "i": i, "ok": False, "ms": msg["ms"],
                  "error": {"type": type(exc).__name__, "message": str(exc)[:200], "frame": None}})
    send({"t": "done", "stdout": out.text()[:PRINT_CAP] if job.get("capture") else ""})


if __name__ == "__main__":
    main()
