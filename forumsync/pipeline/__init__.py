"""The list → forum pipeline: an ordered tuple of small stages sharing one ``msgdata`` dict.

Shaped like Mailman 3's pipelines: each stage is a module with ``process(ctx, msg, msgdata)``;
a stage ends a message by raising ``errors.Drop``/``errors.Quarantine``; a transient forum
error (``ForumUnavailable``) makes the runner schedule a retry. ``runner.py`` claims inbox
rows and runs them through ``STAGES``; ``publish`` queues its mapping rows in
``msgdata["writes"]``, committed by the runner with the row's final state.
"""
from __future__ import annotations

# Filters first (cheap, no forum call), then understanding, then the forum-facing stages.
# ``replyto`` places mail sent to a signed reply address and ``thread`` then keeps that topic;
# ``access`` (after both) turns a reply aimed where list mail may not go (PM, whisper,
# restricted category) into a new topic. The keys they share: ``msgdata.MsgData``.
# Before ``publish`` (which only writes and records), the facts, then the one decision on who
# posts: ``sender`` (how far From is believed, the sender's account), ``live_topic`` (the topic
# as the forum shows it now: moved, closed, archived, deleted), ``closed_topic`` (its notice),
# then ``author`` decides the poster once from them; ``reconcile`` finds what an earlier
# attempt already wrote.
#
# Built on first use (PEP 562): a pool process imports ``ahead_pool`` and the five stages it
# runs, not the database, forum and every other stage (``ahead_pool``'s docstring).
_NAMES = ("dedupe", "loop", "autoreply", "bounce", "parse", "trim", "replyto", "thread", "access",
          "route", "sender", "live_topic", "closed_topic", "author", "reconcile", "publish")


def __getattr__(name: str):
    if name != "STAGES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    stages = tuple(importlib.import_module(f"{__name__}.{stage}") for stage in _NAMES)
    globals()["STAGES"] = stages
    return stages
