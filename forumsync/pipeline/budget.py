"""A processor-time budget per message for the stages that only compute.

The parse, the body's conversion, the quote trimming and the checks of the post's text are
pure computation on what the sender wrote. Every pattern found quadratic so far was fixed
(``docs/security.md``, *Limites de ressources*), but one hostile message that still costs
minutes would hold the whole queue behind it. ``cpu_budget(seconds)`` arms the process's
profiling timer (``ITIMER_PROF``: processor time, not wall time, so a loaded machine does not
trip it); when it fires, the computation stops with ``OverBudget``, a ``Quarantine``: the
message is kept aside with a French reason and ``inbox retry`` can run it again (after
raising ``PIPELINE_MESSAGE_CPU_SECONDS``). Python checks signals between bytecodes and in
``re``'s matching loop, so a runaway pattern stops too.

Only where it can work: the main thread of a POSIX process (the worker's, the import's and
each pool process's). Elsewhere (a thread of the tests' web server) it does nothing.
Budgets nest: an inner one (the main side preparing a later message while it waits)
suspends the outer one, which resumes with the time it had left.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import Quarantine

_stack: list[float] = []  # seconds of each active budget, innermost last
_installed = False


class OverBudget(Quarantine):
    """The message's computation went over its processor time."""

    def __init__(self, seconds: float):
        super().__init__(
            f"traitement trop long : plus de {seconds:g} s de processeur pour convertir ce message "
            "(réglage PIPELINE_MESSAGE_CPU_SECONDS) ; rien n'est publié. À lire tel quel "
            "(forumsync inbox show --raw) ; « forumsync inbox retry » le reprend")
        self.seconds = seconds

    def __reduce__(self):  # through a pool process's pickle, as itself
        return (OverBudget, (self.seconds,))


def _fired(signum, frame) -> None:
    if _stack:  # a signal delivered after its budget closed is ignored
        raise OverBudget(_stack[-1])


def _usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def cpu_budget(seconds: float | None):
    """Run the body with at most SECONDS of this process's processor time (None: no limit)."""
    global _installed
    if not seconds or not _usable():
        yield
        return
    if not _installed:
        signal.signal(signal.SIGPROF, _fired)
        _installed = True
    outer_left = signal.setitimer(signal.ITIMER_PROF, 0)[0] if _stack else 0.0
    _stack.append(seconds)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        _stack.pop()
        if _stack:
            signal.setitimer(signal.ITIMER_PROF, max(outer_left, 0.001))
