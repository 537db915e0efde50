"""Worker processes for ``batch --jobs``: started without multiprocessing, tied to their parent.

multiprocessing's ``spawn`` and ``forkserver`` import the caller's ``__main__`` again
in every worker, so a script calling ``Engine.batch(jobs=2)`` without an
``if __name__ == "__main__"`` guard started its batch over in each worker and broke
the pool; ``fork`` would copy the parent's durable_rules tables, and forking a
process that has threads is unsafe. A worker here is a fresh interpreter that
imports this module and the functions it is given, nothing else: it reads tasks on
its standard input and answers on its standard output, one pickled frame each.

A worker dies with its parent. On Linux the kernel kills it the moment the parent
ends (``PR_SET_PDEATHSIG``), in the middle of a chunk too, or stuck in
durable_rules' C code where no Python signal handler runs. Elsewhere it ends when
its standard input reaches end of file, that is after its chunk. Ctrl-C reaches
the parent, which ends its workers; the workers ignore it.

The pipes carry pickles between processes of one user that trust each other,
never data from elsewhere.
"""

from __future__ import annotations

import json
import os
import pickle
import selectors
import signal
import struct
import subprocess
import sys
import traceback
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import IO
from typing import Any

_HEADER = struct.Struct("<Q")
_PR_SET_PDEATHSIG = 1

# What a worker runs: argv[1] is the parent's pid, argv[2] its import path as JSON, so
# that the worker imports the same latticework as the parent, wherever that came from.
_BOOT = (
    "import json, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "sys.path[:] = json.loads(sys.argv[2])\n"
    f"from {__name__} import serve\n"
    "serve(int(sys.argv[1]))\n"
)


class WorkerLost(Exception):
    """A worker ended before answering (killed, or crashed in C code)."""

    def __init__(self, pid: int, status: int, task: Any) -> None:
        self.pid = pid
        self.status = status
        self.task = task
        if status < 0:
            try:
                how = f"was killed by {signal.Signals(-status).name}"
            except ValueError:
                how = f"was killed by signal {-status}"
        else:
            how = f"ended with exit status {status}"
        self.how = how
        super().__init__(f"worker process {pid} {how}")


# --- the worker side ----------------------------------------------------------------------


def serve(parent: int) -> None:
    _tie_to(parent)
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # something printing in a worker must not corrupt its replies
    tasks = sys.stdin.buffer
    setup = _read_frame(tasks)
    if setup is None:
        return
    initializer, initargs, function = pickle.loads(setup)
    failure: BaseException | None = None
    try:
        initializer(*initargs)
    except Exception as exc:
        failure = _portable(exc)
    while (frame := _read_frame(tasks)) is not None:
        if failure is None:
            try:
                reply = (True, function(pickle.loads(frame)))
            except Exception as exc:
                reply = (False, _portable(exc))
        else:
            reply = (False, failure)
        try:
            _write_frame(replies, pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:
            return


def _tie_to(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # then end of file on standard input is the only tie
    if os.getppid() != parent:
        os._exit(0)  # the parent ended before the tie was made


def _portable(exc: BaseException) -> BaseException:
    """The exception, with the worker's traceback as a note, if it survives pickling;
    else the nearest class of its family that does, with its message."""
    exc.add_note(f"in worker process {os.getpid()}:\n{''.join(traceback.format_exception(exc))}")
    for candidate in (exc, *(_rebuilt(cls, exc) for cls in type(exc).__mro__)):
        if candidate is None:
            continue
        try:
            pickle.loads(pickle.dumps(candidate, pickle.HIGHEST_PROTOCOL))
            return candidate
        except Exception:
            continue
    return RuntimeError(str(exc))


def _rebuilt(cls: type, exc: BaseException) -> BaseException | None:
    try:
        return cls(str(exc)) if issubclass(cls, BaseException) else None
    except Exception:
        return None


# --- the parent side ----------------------------------------------------------------------


class _Worker:
    def __init__(self, executable: str) -> None:
        path = [p for p in sys.path if isinstance(p, str)]
        self.proc = subprocess.Popen(
            [executable, "-c", _BOOT, str(os.getpid()), json.dumps(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout

    def send(self, obj: Any) -> None:
        try:
            _write_frame(self.stdin, pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
        except BrokenPipeError:
            pass  # it is gone: its standard output's end of file says how

    def receive(self, task: Any) -> Any:
        frame = _read_frame(self.stdout)
        if frame is None:
            raise WorkerLost(self.pid, self.proc.wait(), task)
        ok, value = pickle.loads(frame)
        if not ok:
            raise value
        return value


class Pool:
    """``n`` worker processes, each running ``initializer(*initargs)`` once and then
    ``function(task)`` for each task it is sent; ``map`` yields the answers in order."""

    def __init__(self, n: int, initializer: Callable, initargs: tuple,
                 function: Callable[[Any], Any]) -> None:
        executable = sys.executable
        if not executable:
            raise RuntimeError("no Python interpreter to start workers with (sys.executable)")
        self.workers: list[_Worker] = []
        try:
            for _ in range(n):
                self.workers.append(_Worker(executable))
            for w in self.workers:
                w.send((initializer, initargs, function))
        except BaseException:
            self.close(abort=True)
            raise

    def map(self, tasks: Sequence[Any]) -> Iterator[Any]:
        queue = deque(range(len(tasks)))
        idle = list(reversed(self.workers))
        running: dict[_Worker, int] = {}
        finished: dict[int, Any] = {}
        following = 0
        with selectors.DefaultSelector() as selector:
            for w in self.workers:
                selector.register(w.stdout, selectors.EVENT_READ, w)
            while following < len(tasks):
                while idle and queue:
                    w, i = idle.pop(), queue.popleft()
                    running[w] = i
                    w.send(tasks[i])
                for key, _ in selector.select():
                    w = key.data
                    i = running.pop(w, -1)  # an idle worker is readable only at its end
                    finished[i] = w.receive(tasks[i] if i >= 0 else None)
                    idle.append(w)
                while following in finished:
                    yield finished.pop(following)
                    following += 1

    def close(self, abort: bool = False) -> None:
        for w in self.workers:
            try:
                w.stdin.close()  # end of file: an idle worker ends
            except OSError:
                pass
            if abort:
                w.proc.kill()
        for w in self.workers:
            w.proc.wait()
            w.stdout.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind: type | None, *rest: object) -> None:
        self.close(abort=kind is not None)


def _write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame, or None at end of file (the other side is gone)."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None
