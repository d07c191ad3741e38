"""A processor-time budget per message for the stages that only compute.

The parse, the body's conversion, the quote trimming and the checks of the post's text are
pure computation on what the sender wrote. Every pattern found quadratic so far was fixed
(``docs/security.md``, *Limites de ressources*), but one hostile message that still costs
minutes would hold the whole queue behind it. ``cpu_budget(seconds)`` stops the computation
with ``OverBudget``, a ``Quarantine``: the message is kept aside with a French reason and
``inbox retry`` can run it again (after raising ``PIPELINE_MESSAGE_CPU_SECONDS``).
Processor time, not wall time: a loaded machine does not trip it.

- In a process's main thread (``forumsync worker``, the import, each pool process): the
  process's profiling timer (``ITIMER_PROF``). Python checks signals between bytecodes and
  in ``re``'s matching loop, so a runaway pattern stops too.
- In another thread (``forumsync serve`` runs its worker in one): a watchdog thread reads
  that thread's own processor clock (``pthread_getcpuclockid``) and raises ``OverBudget`` in
  it (``PyThreadState_SetAsyncExc``), between bytecodes.

Once over, it fires again every ``REFIRE_SECONDS`` of processor time until the budget
closes: code that catches every ``Exception`` (a header read that must not fail) cannot
swallow it for good (red team, eighth pass). Budgets nest: an inner one (the main side
preparing a later message while it waits) suspends the outer one, which resumes with the
time it had left.
"""
from __future__ import annotations

import ctypes
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import Quarantine

REFIRE_SECONDS = 0.25  # once over: raised again after this much more processor time
WATCH_SECONDS = 0.05  # how often the watchdog reads the threads' clocks


@dataclass
class _Budget:
    seconds: float
    open: bool = True
    clock: int | None = None  # another thread's CPU clock (watchdog)
    deadline: float = 0.0  # on that clock
    thread: int = 0


_stack: list[_Budget] = []  # the main thread's active budgets, innermost last
_threads: dict[int, list[_Budget]] = {}  # other threads' active budgets (the watchdog's)
_lock = threading.Lock()
_installed = False
_watchdog: threading.Thread | None = None
_watched = threading.Event()  # set while another thread has a budget: the watchdog sleeps else


class OverBudget(Quarantine):
    """The message's computation went over its processor time."""

    def __init__(self, seconds: float | None = None):
        if seconds is None:  # raised in a thread by the watchdog: the class, without arguments
            with _lock:
                budgets = _threads.get(threading.get_ident()) or [_Budget(0)]
            seconds = budgets[-1].seconds
        super().__init__(
            f"traitement trop long : plus de {seconds:g} s de processeur pour convertir ce message "
            "(réglage PIPELINE_MESSAGE_CPU_SECONDS) ; rien n'est publié. À lire tel quel "
            "(forumsync inbox show --raw) ; « forumsync inbox retry » le reprend")
        self.seconds = seconds

    def __reduce__(self):  # through a pool process's pickle, as itself
        return (OverBudget, (self.seconds,))


def exceeded(exc: BaseException | None) -> OverBudget | None:
    """The OverBudget behind EXC, if any: the signal lands anywhere, also inside a Python lock
    (``threading.Condition.wait`` restoring its lock), whose exit then raises « release
    unlocked lock » while the OverBudget is handled (seen in a CI rehearsal)."""
    for _depth in range(8):
        if exc is None or isinstance(exc, OverBudget):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


@contextmanager
def cpu_budget(seconds: float | None):
    """Run the body with at most SECONDS of processor time (None: no limit)."""
    if not seconds:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _main_thread_budget(seconds):
            yield
    elif hasattr(time, "pthread_getcpuclockid"):
        with _watched_budget(seconds):
            yield
    else:  # no way to read a thread's processor time here
        yield


# ---------------------------------------------------------------- main thread: ITIMER_PROF
def _fired(signum, frame) -> None:
    if _stack and _stack[-1].open:  # a signal delivered after its budget closed is ignored
        raise OverBudget(_stack[-1].seconds)


@contextmanager
def _main_thread_budget(seconds: float):
    global _installed
    if not _installed:
        signal.signal(signal.SIGPROF, _fired)
        _installed = True
    outer_left = signal.setitimer(signal.ITIMER_PROF, 0)[0] if _stack else 0.0
    budget = _Budget(seconds)
    _stack.append(budget)
    signal.setitimer(signal.ITIMER_PROF, seconds, _refire(seconds))
    try:
        yield
    finally:
        _closed(_close_main, budget, outer_left)


def _refire(seconds: float) -> float:
    """Processor time after which an overrun is raised again: REFIRE_SECONDS, or the budget
    itself when shorter. A raise that lands in a finalizer is swallowed (« Exception ignored in
    SQLAlchemy's _collection_gced »): a 0.1 s budget then ran on to 0.35 s, and a message just
    over it was published (the tests' budget, one run in four)."""
    return min(REFIRE_SECONDS, seconds)


def _close_main(budget: _Budget, outer_left: float) -> None:
    budget.open = False  # first: a signal from here on is ignored
    signal.setitimer(signal.ITIMER_PROF, 0)
    if _stack and _stack[-1] is budget:
        _stack.pop()
        if _stack:
            signal.setitimer(signal.ITIMER_PROF, max(outer_left, 0.001), _refire(_stack[-1].seconds))


def _closed(close, *args) -> None:
    """CLOSE(*ARGS), done whole even if the budget's exception arrives in its first steps
    (the work is over then: it is not raised); CLOSE can be run again."""
    while True:
        try:
            close(*args)
            return
        except OverBudget:
            continue


# ---------------------------------------------------------------- other threads: a watchdog
@contextmanager
def _watched_budget(seconds: float):
    ident = threading.get_ident()
    clock = time.pthread_getcpuclockid(ident)
    budget = _Budget(seconds, clock=clock, deadline=time.clock_gettime(clock) + seconds, thread=ident)
    with _lock:
        budgets = _threads.setdefault(ident, [])
        outer = budgets[-1] if budgets else None
        if outer is not None:  # suspended: its deadline moves by the time this one takes
            outer.open = False
        budgets.append(budget)
        _watched.set()
    _start_watchdog()
    started = budget.deadline - seconds
    try:
        yield
    finally:
        _closed(_close_watched, budget, budgets, outer, started)


def _close_watched(budget: _Budget, budgets: list, outer: _Budget | None, started: float) -> None:
    with _lock:
        if not budget.open:
            return
        budget.open = False
        # an exception the watchdog sent but this thread has not raised yet: withdrawn
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(budget.thread), ctypes.c_void_p(0))
        if budgets and budgets[-1] is budget:
            budgets.pop()
        if outer is not None:
            outer.deadline += time.clock_gettime(budget.clock) - started
            outer.open = True
        if not budgets:
            _threads.pop(budget.thread, None)
            if not _threads:
                _watched.clear()


def _start_watchdog() -> None:
    global _watchdog
    with _lock:
        if _watchdog is not None and _watchdog.is_alive():
            return
        _watchdog = threading.Thread(target=_watch, name="forumsync-budget-watchdog", daemon=True)
        _watchdog.start()


def _watch() -> None:
    while True:
        _watched.wait()  # no budget open in another thread: no polling
        time.sleep(WATCH_SECONDS)
        with _lock:
            over = []
            for budgets in _threads.values():
                budget = budgets[-1]
                if budget.open and time.clock_gettime(budget.clock) >= budget.deadline:
                    budget.deadline += _refire(budget.seconds)  # raised again if swallowed
                    over.append(budget.thread)
            for ident in over:  # (under the lock: the budget cannot close in between)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(OverBudget))
