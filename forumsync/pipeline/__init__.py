"""The list → forum pipeline: an ordered tuple of small stages sharing one ``msgdata`` dict.

Shaped like Mailman 3's pipelines: each stage is a module with ``process(ctx, msg, msgdata)``;
a stage ends a message by raising ``errors.Drop``/``errors.Quarantine``; a transient forum
error (``ForumUnavailable``) makes the runner schedule a retry. ``runner.py`` claims inbox
rows and runs them through ``STAGES``; ``publish`` queues its mapping rows in
``msgdata["writes"]``, committed by the runner with the row's final state.
"""
from __future__ import annotations

from . import (access, author, autoreply, bounce, dedupe, loop, parse, publish, replyto, route,
               thread, trim)

# Filters first (cheap, no forum call), then understanding, then the forum-facing stages.
# ``replyto`` places mail sent to a signed reply address and ``thread`` then keeps that topic;
# ``access`` (after both) turns a reply aimed where list mail may not go (PM, whisper,
# restricted category) into a new topic. The keys they share: ``msgdata.MsgData``.
STAGES = (dedupe, loop, autoreply, bounce, parse, trim, replyto, thread, access, route, author,
          publish)
