"""Worker processes that may die or hang, with one answer per item, in input order.

:func:`ordered_map` runs ``func`` over items in worker processes, one item in
flight per worker, each worker with its own pipe. The parent waits on the result
pipes and the process sentinels together
(:func:`multiprocessing.connection.wait`), so a worker that dies (SIGKILL from
the OOM killer, a crash in C code) or overruns the per-item ``timeout`` (it is
then killed) becomes a :class:`Fault` for that one item; a fresh worker takes the
remaining items, and every item still gets an answer. Answers come out in input
order, each as soon as it and the ones before it are in: they are held back only
to keep the order.

Workers ignore SIGINT (the parent handles Ctrl-C, once) and end by themselves
when the parent is gone. When the parent stops early (Ctrl-C, SIGTERM, SIGHUP, a
closed stdout) it kills and joins every worker, so none is left behind, not even
as a zombie. Pure: no printing, no exiting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

#: how long a worker told to stop may take before it is killed
STOP_GRACE_SECONDS = 1.0
#: how long a new worker may take to start before its first job counts as hanging
START_SECONDS = 60.0
#: what a worker sends when it begins a job
_STARTED = "started"
#: what :meth:`_Worker.receive` returns while the job is still running
_BUSY = object()
#: what :func:`_collect` returns for a job whose worker died before starting it
_AGAIN = object()


@dataclass(frozen=True)
class Fault:
    """Why an item has no answer.

    ``kind`` is ``died`` (``signal`` or ``exitcode`` says how), ``timeout``
    (it ran past ``seconds`` and its worker was killed) or ``crashed`` (``func``
    raised, or its answer could not be sent back: ``detail`` says what).
    """

    kind: str
    signal: int | None = None
    exitcode: int | None = None
    seconds: float | None = None
    detail: str = ""


def _watch_parent(parent: int) -> None:
    """End this worker when the parent is gone (killed, or ended by a closed pipe in ``... | head``);
    otherwise it would wait forever for work and hold the parent's stdout/stderr open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, name="lossctl-parent-watch", daemon=True).start()


def _serve(conn, parent: int, func: Callable, initializer: Callable | None, initargs: tuple) -> None:
    """A worker's life: answer ``(index, item)`` jobs one at a time until told to stop (None)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("SIGTERM", "SIGHUP"):  # a forked worker inherits the parent's Python handlers
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        _watch_parent(parent)
        if initializer is not None:
            initializer(*initargs)
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            index, item = job
            conn.send(_STARTED)  # the time budget counts from here, not from a spawned worker's start-up
            try:
                answer = func(item)
                conn.send((index, answer))
            except Exception as e:  # func should not raise; say what happened rather than die mute
                conn.send((index, Fault("crashed", detail=f"{type(e).__name__}: {e}")))
    except BaseException:  # the parent reports the death; no traceback on the shared stderr
        os._exit(1)


@contextlib.contextmanager
def _no_sigpipe() -> Iterator[None]:
    """Writing to a worker that just died must raise BrokenPipeError, not kill the parent
    (``lossctl`` restores the default SIGPIPE action so that ``lossctl ... | head`` ends quietly)."""
    if not hasattr(signal, "SIGPIPE") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGPIPE, previous)


class _Worker:
    """One worker process, its end of the pipe, and the item it is working on."""

    def __init__(self, context, func: Callable, initializer: Callable | None, initargs: tuple) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, os.getpid(), func, initializer, initargs), name="lossctl-worker", daemon=True
        )
        self.process.start()
        child.close()  # the worker holds the only other end: its death reads as end-of-file here
        self.index: int | None = None
        self.deadline: float | None = None
        self.timeout: float | None = None
        self.started = False
        self.served = 0

    def give(self, index: int, item: Any, timeout: float | None) -> bool:
        """Send one job; False if the worker is already gone."""
        try:
            with _no_sigpipe():
                self.conn.send((index, item))
        except OSError:
            return False
        self.index = index
        self.timeout = timeout
        self.started = False
        # until it says it started, allow for a start-up (spawn imports numpy...), then ``timeout`` from then on
        self.deadline = None if timeout is None else time.monotonic() + START_SECONDS + timeout
        return True

    def receive(self) -> Any:
        """The answer to the job in flight, ``_BUSY`` if the worker only said it started, or the
        :class:`Fault` of a worker that died on it."""
        try:
            while self.conn.poll():
                message = self.conn.recv()
                if message != _STARTED:
                    return message[1]
                self.started = True
                if self.timeout is not None:
                    self.deadline = time.monotonic() + self.timeout
            if self.process.exitcode is None:
                return _BUSY
        except (EOFError, OSError):
            pass
        return self.death()

    def death(self) -> Fault:
        """Make sure the worker is gone (reaped, not a zombie) and say how it ended."""
        self.process.join(STOP_GRACE_SECONDS)
        self.kill()
        code = self.process.exitcode
        if code is not None and code < 0:
            return Fault("died", signal=-code)
        return Fault("died", exitcode=code)

    def kill(self) -> None:
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to end; kill it if it does not end soon."""
        try:
            with _no_sigpipe():
                self.conn.send(None)
        except OSError:
            pass
        self.process.join(STOP_GRACE_SECONDS)
        self.kill()


@contextlib.contextmanager
def _signals_end_the_run() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit(128 + n) while the pool runs, so the workers are
    killed and joined on the way out. Only where their action is still the default one: a
    handler installed by the application is left alone (it must raise for the cleanup to run)."""
    installed = []
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:

                def leave(received: int, frame: object) -> None:
                    raise SystemExit(128 + received)

                installed.append((signum, signal.signal(signum, leave)))
    try:
        yield
    finally:
        for signum, previous in installed:
            signal.signal(signum, previous)


def ordered_map(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    *,
    context,
    on_fault: Callable[[Any, Fault], Any],
    timeout: float | None = None,
    initializer: Callable | None = None,
    initargs: Iterable = (),
) -> Iterator[Any]:
    """Yield ``func(item)`` for each item, in order, computed in up to ``workers`` processes.

    An item whose worker dies, or that takes longer than ``timeout`` seconds,
    yields ``on_fault(item, fault)`` instead, and a fresh worker takes the rest.
    ``func``, ``initializer`` and their arguments must be picklable under the
    ``spawn`` start method of ``context``.
    """
    initargs = tuple(initargs)
    todo = deque(range(len(items)))
    answers: dict[int, Any] = {}
    pool: list[_Worker] = []
    done = 0

    def settle(index: int, answer: Any) -> None:
        answers[index] = on_fault(items[index], answer) if isinstance(answer, Fault) else answer

    with _signals_end_the_run():
        try:
            for _ in range(min(workers, len(items))):  # one at a time, so that the cleanup below sees each
                pool.append(_Worker(context, func, initializer, initargs))
            while done < len(items):
                for slot in range(len(pool)):
                    while pool[slot].index is None and todo:
                        index = todo.popleft()
                        if pool[slot].give(index, items[index], timeout):
                            continue
                        if pool[slot].served:  # it died between jobs: the job goes to a fresh worker
                            todo.appendleft(index)
                        else:  # a fresh worker that cannot take one job would fail them all: fault this one
                            settle(index, pool[slot].death())
                        pool[slot].kill()
                        pool[slot] = _Worker(context, func, initializer, initargs)
                for slot, index, answer in _collect(pool, timeout):
                    if answer is _AGAIN:
                        todo.appendleft(index)
                    else:
                        settle(index, answer)
                    if pool[slot].process.exitcode is not None:  # died or killed: a fresh one takes the rest
                        pool[slot] = _Worker(context, func, initializer, initargs)
                while done in answers:
                    yield answers.pop(done)
                    done += 1
            for worker in pool:
                worker.stop()
        finally:
            for worker in pool:  # after an early stop (Ctrl-C, a closed stdout): kill them all, then reap
                if worker.process.exitcode is None:
                    worker.process.kill()
            for worker in pool:
                worker.kill()


def _collect(pool: list[_Worker], timeout: float | None) -> list[tuple[int, int, Any]]:
    """Wait until a busy worker answers, dies or runs out of time: ``(slot, index, answer or Fault)`` for each."""
    busy = [w for w in pool if w.index is not None]
    if not busy:
        return []
    deadlines = [w.deadline for w in busy if w.deadline is not None]
    ready = set(
        wait(
            [w.conn for w in busy] + [w.process.sentinel for w in busy],
            None if not deadlines else max(0.0, min(deadlines) - time.monotonic()),
        )
    )
    now = time.monotonic()
    out = []
    for slot, worker in enumerate(pool):
        index = worker.index
        if index is None:
            continue
        if worker.conn in ready or worker.process.sentinel in ready:
            answer = worker.receive()
            if answer is _BUSY:
                continue
            if isinstance(answer, Fault) and not worker.started and worker.served:
                answer = _AGAIN  # it died between jobs (e.g. the OOM killer took an idle worker): not this job's fault
        elif worker.deadline is not None and now >= worker.deadline:
            worker.kill()
            answer = Fault("timeout", seconds=timeout)
        else:
            continue
        worker.index = worker.deadline = None
        worker.served += 1
        out.append((slot, index, answer))
    return out
