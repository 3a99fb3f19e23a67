"""One bubblewrap sandbox running app/judge/harness.py, and the limits around it.

The sandbox sees a read-only /usr (the judge's Python and numpy, world-readable), an empty /tmp of a fixed size,
a private /proc and /dev, and nothing else: no database, content, settings or project code. It has its own user,
network, PID, IPC, UTS and mount namespaces, an allow-listed environment, and runs under an unprivileged host uid
(never root: started by root, bwrap's inner uid would map back to root and RLIMIT_NPROC would not apply), one uid
per live sandbox so a fork bomb in one cannot starve another of processes. Limits on CPU, address space, file
size and open files are set by the harness itself just before it runs the code (after its own imports).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import default_judge_site

HARNESS_SOURCE = (Path(__file__).parent / "harness.py").read_text(encoding="utf-8")
LOCK_DIR = "/run/mianjing-judge-uids" if os.path.isdir("/run") and os.access("/run", os.W_OK) else \
    "/tmp/mianjing-judge-uids"  # noqa: S108 - root's own 0700 folder of lock files
ENV_ALLOW = ("OPENBLAS_CORETYPE",)  # passed through where the host sets them; the rest is fixed below
FIXED_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": "/usr/bin",
             "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}  # noqa: S108 - the sandbox's own tmpfs


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    python: str = "/usr/bin/python3"
    site: str = field(default_factory=default_judge_site)  # numpy from scripts/setup.sh; mounted at /judge/site
    bwrap: str = "bwrap"
    uid_base: int = 64100  # host uids base .. base + uid_count - 1, with no account, no files, no groups
    uid_count: int = 64
    nproc: int = 8  # processes and threads per sandbox uid (bwrap itself takes two)
    tmp_bytes: int = 16 * 1024 * 1024
    protocol_cap: int = 16 * 1024 * 1024  # what the harness sends back; beyond it the run is an output limit
    stderr_cap: int = 64 * 1024


def argv(cfg: SandboxConfig, uid: int | None) -> list[str]:
    """The command line: drop to `uid` (when we are root), cap its processes, then bwrap the harness."""
    env = dict(FIXED_ENV)
    env.update({k: os.environ[k] for k in ENV_ALLOW if k in os.environ})
    prefix: list[str] = []
    if uid is not None:
        prefix = ["prlimit", f"--nproc={cfg.nproc}:{cfg.nproc}", "--",
                  "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    box = [cfg.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            box += ["--symlink", os.readlink(target), f"/{name}"]
        elif target.is_dir():
            box += ["--ro-bind", str(target), f"/{name}"]
    box += ["--ro-bind", cfg.site, "/judge/site"]
    box += ["--proc", "/proc", "--dev", "/dev", "--size", str(cfg.tmp_bytes), "--tmpfs", "/tmp",  # noqa: S108
            "--chdir", "/tmp", "--hostname", "judge"]  # noqa: S108 - a private tmpfs of the sandbox's own
    for k, v in env.items():
        box += ["--setenv", k, v]
    return prefix + box + ["--", cfg.python, "-I", "-B", "-c", HARNESS_SOURCE]


@dataclass(slots=True)
class RunResult:
    messages: list[dict] = field(default_factory=list)
    stderr: str = ""
    ended: str = "done"  # done | wall_timeout | output_limit | exited (without "done")
    returncode: int | None = None
    wall_ms: float = 0.0


class UidPool:
    """Host uids for live sandboxes: each sandbox holds one from start to exit. A uid is held through a lock file
    (so two judge processes on one machine never share one) and goes back only when no process of it is left
    (a killed sandbox's namespace is torn down asynchronously)."""

    def __init__(self, cfg: SandboxConfig) -> None:
        self.free = collections.deque(range(cfg.uid_base, cfg.uid_base + cfg.uid_count))
        self.locks: dict[int, int] = {}
        os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)

    async def take(self) -> int:
        for _ in range(250):  # up to 5 s for a uid to come back
            for _ in range(len(self.free)):
                uid = self.free.popleft()
                fd = os.open(f"{LOCK_DIR}/{uid}", os.O_CREAT | os.O_RDWR, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    self.free.append(uid)  # another judge process's
                    continue
                if uid_has_processes(uid):
                    os.close(fd)
                    self.free.append(uid)
                    continue
                self.locks[uid] = fd
                return uid
            await asyncio.sleep(0.02)
        raise SandboxBusy("no free sandbox uid: every one still has processes")

    async def give(self, uid: int) -> None:
        for _ in range(100):
            if not uid_has_processes(uid):
                break
            await asyncio.sleep(0.01)
        fd = self.locks.pop(uid, None)
        if fd is not None:
            os.close(fd)  # releases the lock
        self.free.append(uid)  # still busy after a second: take() skips it until it is clear


def uid_has_processes(uid: int) -> bool:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    return True
            except FileNotFoundError:
                pass
    return False


class Sandbox:
    """A started harness waiting for its job (a warm sandbox); `run` sends the job and collects the answer."""

    def __init__(self, cfg: SandboxConfig, uids: UidPool | None) -> None:
        self.cfg = cfg
        self.uids = uids
        self.uid: int | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.uids is not None:
            self.uid = await self.uids.take()
        self.proc = await asyncio.create_subprocess_exec(
            *argv(self.cfg, self.uid), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, env={"PATH": "/usr/bin:/bin"},
            limit=self.cfg.protocol_cap)
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        line = await self.proc.stdout.readline()
        try:
            ready = json.loads(line) if line else {}
        except ValueError:
            ready = {}
        if ready.get("t") != "ready":
            await self.kill()
            err = bytes(self._stderr).decode("utf-8", "replace").strip()
            raise SandboxUnavailable(err or f"the sandbox exited before it was ready (code {self.proc.returncode})")

    async def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            if len(self._stderr) < self.cfg.stderr_cap:
                self._stderr += chunk[: self.cfg.stderr_cap - len(self._stderr)]
            else:
                self.kill_now()  # only the harness writes here, and little: a flood is someone else's

    def kill_now(self) -> None:
        """SIGKILL bwrap's child, the namespace's init: the kernel then kills everything inside, and bwrap reaps it
        and exits. Killing bwrap itself would orphan that init as a zombie nobody reaps (holding a process of the
        uid), so the group is only the fallback."""
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            children = []
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def kill(self) -> None:
        self.kill_now()
        await self.close()

    async def close(self) -> None:
        if self.proc is not None:
            try:
                await asyncio.wait_for(self.proc.wait(), 1.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()
            if self._stderr_task is not None:
                await self._stderr_task
        if self.uid is not None and self.uids is not None:
            uid, self.uid = self.uid, None
            _background(self.uids.give(uid))  # waiting for the uid to clear is nobody's latency

    async def run(self, job: dict, wall_s: float) -> RunResult:
        """Send the job, read protocol lines until "done", the wall clock, an output cap or the exit."""
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        result = RunResult()
        start = time.perf_counter()
        deadline = start + wall_s
        received = 0
        try:
            self.proc.stdin.write(json.dumps(job, ensure_ascii=False).encode() + b"\n")
            await self.proc.stdin.drain()
            while True:
                timeout = deadline - time.perf_counter()
                if timeout <= 0:
                    result.ended = "wall_timeout"
                    break
                try:
                    line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
                except TimeoutError:
                    result.ended = "wall_timeout"
                    break
                except (ValueError, asyncio.LimitOverrunError):  # one line beyond the cap
                    result.ended = "output_limit"
                    break
                if not line:
                    result.ended = "exited"
                    break
                received += len(line)
                if received > self.cfg.protocol_cap:
                    result.ended = "output_limit"
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not the harness's: the code wrote to the protocol fd itself
                if not isinstance(msg, dict):
                    continue
                result.messages.append(msg)
                if msg.get("t") in ("done", "fatal"):
                    break
        except (BrokenPipeError, ConnectionResetError):
            result.ended = "exited"
        finally:
            if result.ended == "done" and self.proc.stdin is not None:
                self.proc.stdin.close()  # the harness exits on its own; whatever it forked dies with its namespace
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.proc.wait(), 0.2)
            await self.kill()
        result.returncode = self.proc.returncode
        result.stderr = bytes(self._stderr).decode("utf-8", "replace")
        result.wall_ms = (time.perf_counter() - start) * 1000
        return result


class SandboxBusy(RuntimeError):
    """No sandbox can start right now (every uid busy): the submission waits or gets a 429."""


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot start here (no user namespaces, not installed, no judge Python): code items are off."""


_tasks: set[asyncio.Task] = set()


def _background(coro) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_tasks.discard)


def uid_pool_for(cfg: SandboxConfig) -> UidPool | None:
    """Root drops to the pool's uids; anyone else already is an unprivileged uid and runs bwrap as itself."""
    return UidPool(cfg) if os.geteuid() == 0 else None
