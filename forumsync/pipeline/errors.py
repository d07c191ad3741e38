"""How a stage ends a message's journey: each outcome carries a French reason for operators."""
from __future__ import annotations


class StageStop(Exception):
    """Base of the outcomes a stage may raise; ``reason`` is shown in the inbox (French)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Drop(StageStop):
    """Not a message for the forum (echo, auto-reply, bounce…): stop, record why."""


class Quarantine(StageStop):
    """A message we cannot process: kept aside for an operator, with the reason."""


class Retry(StageStop):
    """A transient problem: process the message again later."""
