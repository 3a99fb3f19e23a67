"""Submissions that try to get out of the sandbox or take the judge down: each must fail safely, and the judge
must judge the next submission as if nothing had happened. Real bubblewrap, real limits, on every run."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import pytest

from app.content.model import CodeSpec
from app.judge.engine import Engine
from app.judge.sandbox import SandboxConfig

# The reference returns "blocked": a submission is accepted only when its escape attempt returned that too.
SPEC = CodeSpec(entry="f", starter="def f(x):\n    pass\n", reference="def f(x):\n    return 'blocked'\n",
                tests="EXAMPLES = [('one', (1,))]\nHIDDEN = []\n", compare="exact", random_cases=0,
                time_limit_s=1.0, memory_mb=128)

SECRET_FILE = "/tmp/mianjing-judge-secret"  # noqa: S108 - a host file the sandbox must not see


def attempt(body: str) -> str:
    """A submission whose f runs `body` (which returns evidence when it gets through) and returns "blocked"
    when it raises instead."""
    indented = "\n".join("        " + line for line in body.strip().splitlines())
    return f"import os, sys\n\ndef f(x):\n    try:\n{indented}\n    except BaseException:\n        return 'blocked'\n"


class Judge:
    """An engine on an event loop of its own thread, running all the time as in the judge process (its
    warm-ups and clean-ups are background tasks)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine = Engine(SandboxConfig(), 1)
        self.call(self.engine.probe())

    def call(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def judge_thread():
    j = Judge()
    yield j
    j.close()


@pytest.fixture(scope="module")
def engine(judge_thread):
    return lambda source: judge_thread.call(judge_thread.engine.judge(SPEC, source, "examples"))


def healthy(judge) -> None:
    assert judge("def f(x):\n    return 'blocked'\n")["status"] == "accepted"


@pytest.fixture(scope="module", autouse=True)
def secret_file():
    with open(SECRET_FILE, "w") as f:
        f.write("secret")
    yield
    os.unlink(SECRET_FILE)


READS = {
    "the project's database and settings": f"return open({str(os.path.abspath('var/mianjing.db'))!r}, 'rb').read(10)",
    "a host file outside /usr": f"return open({SECRET_FILE!r}).read()",
    "/etc/passwd": "return open('/etc/passwd').read()",
    "the secret key in the environment": "return [k for k in os.environ if 'MIANJING' in k or 'SECRET' in k][0]",
    "the service's own process": "return open('/proc/1/environ').read() if 'MIANJING' in "
                                  "open('/proc/1/environ').read() else 1/0",
    "the project's package": "import app\nreturn str(app)",
    "a socket to the database server": "import socket\ns = socket.create_connection(('127.0.0.1', 5432), 1)\n"
                                       "return 'connected'",
    "a socket to the outside": "import socket\ns = socket.create_connection(('1.1.1.1', 80), 1)\nreturn 'out'",
    "a write outside /tmp": "open('/usr/evil', 'w').write('x')\nreturn 'wrote'",
    "os.system": "rc = os.system('cat /etc/shadow > /tmp/x')\nreturn open('/tmp/x').read() or 1/0",
    "ctypes": "import ctypes\nlibc = ctypes.CDLL(None)\nreturn 'uid %d' % libc.getuid() if libc.getuid() == 0 else 1/0",
    "a process as root": "return 'root' if os.getuid() == 0 and os.path.exists('/root/.bashrc') else 1/0",
}


@pytest.mark.parametrize("what", READS)
def test_an_escape_attempt_is_blocked(engine, what) -> None:
    verdict = engine(attempt(READS[what]))
    case = verdict["cases"][0]
    assert verdict["status"] in ("accepted", "runtime_error"), (what, case)
    if verdict["status"] == "accepted":
        assert case["status"] == "passed"
    healthy(engine)


RESOURCES = {
    "while True": ("def f(x):\n    while True:\n        pass\n", "time_limit"),
    "sleeping past the limit": ("import time\ndef f(x):\n    time.sleep(60)\n", "time_limit"),
    "10 GiB": ("import numpy as np\ndef f(x):\n    return np.ones(10 * 2**30 // 8).sum()\n", "memory_limit"),
    "1 GiB of print": ("def f(x):\n    for _ in range(2**20):\n        print('x' * 1024)\n", "output_limit"),
    "1 GiB to stdout's fd": ("import os\ndef f(x):\n    for _ in range(2**20):\n        os.write(1, b'x' * 1024)\n"
                             "    return 'blocked'\n", None),
    "1 GiB file": ("def f(x):\n    with open('/tmp/big', 'wb') as fh:\n        for _ in range(2**20):\n"
                   "            fh.write(b'x' * 1024)\n", "runtime_error"),
    "killing the parent": ("import os, signal\ndef f(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                           "    os.kill(1, signal.SIGKILL)\n    os.killpg(0, signal.SIGKILL)\n", None),
    "fork bomb": ("import os\ndef f(x):\n    while True:\n        os.fork()\n", None),
    "threads": ("import threading, time\ndef f(x):\n    while True:\n"
                "        threading.Thread(target=time.sleep, args=(60,)).start()\n", "runtime_error"),
}


@pytest.mark.parametrize("what", RESOURCES)
def test_a_resource_attack_ends_in_its_limit(engine, what) -> None:
    source, status = RESOURCES[what]
    verdict = engine(source)
    if status is not None:
        assert verdict["status"] == status, (what, verdict)
    assert verdict["status"] != "accepted" or what == "1 GiB to stdout's fd", verdict
    assert verdict["wall_ms"] < 15_000
    healthy(engine)


def test_hidden_cases_tell_nothing_but_their_kind(judge_thread) -> None:
    """A hidden case's error carries only its type: the message could hold the input."""
    spec = CodeSpec(entry="f", starter="", reference="def f(x):\n    return x\n",
                    tests="EXAMPLES = [('shown', (1,))]\nHIDDEN = [('秘密', ('the hidden input',))]\n",
                    random_cases=0, compare="exact")
    eng = judge_thread.engine
    verdict = judge_thread.call(eng.judge(spec, "def f(x):\n    raise ValueError(repr(x))\n", "submit"))
    wrong = judge_thread.call(eng.judge(spec, "def f(x):\n    print(x)\n    return 0\n", "submit"))
    shown, hidden = verdict["cases"]
    assert shown["error"]["message"] == "1" and shown["error"]["line"] == 2
    assert hidden == {"kind": "hidden", "label": "秘密", "status": "runtime_error", "ms": hidden["ms"],
                      "error": {"type": "ValueError"}}
    assert "the hidden input" not in str(wrong) and "stdout" not in wrong
    assert set(wrong["cases"][1]) == {"kind", "label", "status", "ms"}


def test_a_server_listening_on_the_host_is_out_of_reach(engine) -> None:
    """The service's own port (here: a server listening on the host's loopback) cannot be reached."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        verdict = engine(attempt(f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), 1)\n"
                                 "return 'connected'"))
        assert verdict["status"] == "accepted", verdict  # the attempt raised: "blocked"
    finally:
        server.close()


def test_nothing_listens_inside_for_the_host(judge_thread) -> None:
    """The sandbox has no network: a server it starts is not reachable from the host."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    spec = CodeSpec(entry="f", starter="", reference="def f(x):\n    return 'blocked'\n",
                    tests="EXAMPLES = [('one', (1,))]\nHIDDEN = []\n", random_cases=0, compare="exact",
                    time_limit_s=2.0)
    source = (f"import socket, time\ndef f(x):\n    s = socket.socket()\n    s.bind(('127.0.0.1', {port}))\n"
              "    s.listen()\n    time.sleep(1.5)\n    return 'blocked'\n")
    running = judge_thread.start(judge_thread.engine.judge(spec, source, "examples"))
    time.sleep(1.0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), 0.2)
    assert running.result(30)["status"] == "accepted"  # it did listen, inside its own network
