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
import queue
import selectors
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import IO
from typing import Any

_HEADER = struct.Struct("<Q")
_PR_SET_PDEATHSIG = 1
# Tasks sent to a worker ahead of its answers: it starts its next task the moment it has
# answered, without waiting for the parent to read the answer and send another.
IN_FLIGHT = 2

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
    # replies are written by a thread, so that a reply the parent has not read yet (it is
    # scoring a chunk itself) never keeps this worker from its next task
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    gone = threading.Event()
    writer = threading.Thread(target=_send_replies, args=(replies, outbox, gone), daemon=True)
    writer.start()
    failure: BaseException | None = None
    try:
        initializer(*initargs)
    except Exception as exc:
        failure = _portable(exc)
    while not gone.is_set() and (frame := _read_frame(tasks)) is not None:
        if failure is None:
            try:
                reply = (True, function(pickle.loads(frame)))
            except Exception as exc:
                reply = (False, _portable(exc))
        else:
            reply = (False, failure)
        outbox.put(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
    outbox.put(None)
    writer.join()


def _send_replies(replies: IO[bytes], outbox: queue.SimpleQueue[bytes | None],
                  gone: threading.Event) -> None:
    while (data := outbox.get()) is not None:
        try:
            _write_frame(replies, data)
        except BrokenPipeError:
            gone.set()  # the parent is gone: no more work is worth doing
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
        # read from the descriptor exactly one frame, never ahead: a second answer read
        # into a buffer would wait there unseen by select()
        frame = _read_frame_exactly(self.stdout.fileno())
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

    def map(self, tasks: Sequence[Any], local: Callable[[Any], Any] | None = None
            ) -> Iterator[Any]:
        """The answers in the order of ``tasks``. With ``local``, this process takes tasks
        too, ``local(task)`` for each, whenever no worker's answer is waiting: it works
        while the workers start up and then beside them, instead of waiting on them."""
        waiting = deque(range(len(tasks)))
        running: dict[_Worker, deque[int]] = {w: deque() for w in self.workers}
        finished: dict[int, Any] = {}
        following = 0
        with selectors.DefaultSelector() as selector:
            for w in self.workers:
                selector.register(w.stdout, selectors.EVENT_READ, w)
            while following < len(tasks):
                for w, sent in running.items():
                    while waiting and len(sent) < IN_FLIGHT:
                        sent.append(i := waiting.popleft())
                        w.send(tasks[i])
                works_here = local is not None and bool(waiting)
                ready = selector.select(0 if works_here else None)
                for key, _ in ready:
                    w = key.data
                    sent = running[w]  # an idle worker is readable only at its end
                    i = sent[0] if sent else -1
                    finished[i] = w.receive(tasks[i] if i >= 0 else None)
                    sent.popleft()
                if works_here and not ready:
                    assert local is not None
                    i = waiting.popleft()
                    finished[i] = local(tasks[i])
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


def _read_exactly(fd: int, size: int) -> bytes:
    parts = []
    while size > 0:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _read_frame_exactly(fd: int) -> bytes | None:
    """``_read_frame`` on an unbuffered descriptor."""
    head = _read_exactly(fd, _HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = _read_exactly(fd, size)
    return data if len(data) == size else None
