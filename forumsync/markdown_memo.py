"""markdown-it's inline step, memoised per inline content.

A list reply quotes the messages before it, so most paragraphs a process parses it has
parsed before: over the usrp-users corpus, 43 % of the inline characters the pool's check
(``mail.inert.live_syntax``) parses are repeats within one of two pool processes, and the
local forum cooks the same quotes again. markdown-it parses each block's inline content on
its own: what the core rules ``inline``, ``linkify`` and ``text_join`` leave in an inline
token's ``children`` depends only on that content, the parser's options and rules, and the
document's link reference definitions (``env["references"]``, read by the ``link`` and
``image`` rules). So, in a document without definitions, those children are taken from a
memo keyed by the content; a document with definitions is parsed as markdown-it does.

The memoised children are shared between the documents that contain the same content: the
callers only read them (the local forum's renderer sets an image's ``alt`` again, to the same
value). Bounded: ``size`` contents, each at most ``MAX_CHARS`` long.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from markdown_it.rules_core.state_core import StateCore

FIRST, LAST = "inline", "text_join"  # the core rules replaced, and what runs between them
MAX_CHARS = 20_000
_MEMOS: list[OrderedDict] = []  # every installed memo (benchmarks empty them: clear_all)


def install(md, size: int = 2048):
    """Make MD's core run its inline rules once per distinct inline content; returns MD."""
    names = [rule.name for rule in md.core.ruler.__rules__]
    chain = [(rule.name, rule.fn) for rule in md.core.ruler.__rules__[names.index(FIRST):names.index(LAST) + 1]
             if rule.enabled]
    memo: OrderedDict = OrderedDict()
    lock = threading.Lock()

    def run_chain(state) -> None:
        for _name, fn in chain:
            fn(state)

    def fill(state, token) -> None:
        """TOKEN's children, from the memo or parsed (and remembered)."""
        content = token.content
        with lock:
            children = memo.get(content)
            if children is not None:
                memo.move_to_end(content)
        if children is None:
            token.children = token.children or []
            run_chain(StateCore(content, state.md, state.env, [token]))
            children = token.children
            if len(content) <= MAX_CHARS:
                with lock:
                    memo[content] = children
                    if len(memo) > size:
                        memo.popitem(last=False)
        token.children = list(children)

    def inline_memoised(state) -> None:
        if state.env.get("references"):
            run_chain(state)  # [label] may name a definition: markdown-it's own way
            return
        for token in state.tokens:
            if token.type == "inline":
                fill(state, token)

    def blocks(src: str, env: dict | None = None) -> StateCore:
        """The core rules before the inline step: the block tokens of SRC, their inline
        tokens' children not parsed yet (``inline_children`` parses those wanted)."""
        state = StateCore(src, md, {} if env is None else env)
        for rule in md.core.ruler.getRules(""):
            if rule is inline_memoised:
                break
            rule(state)
        return state

    def inline_children(state, token) -> None:
        """What the inline step gives TOKEN (of ``blocks(…).tokens``), alone."""
        if state.env.get("references"):
            token.children = token.children or []
            run_chain(StateCore(token.content, state.md, state.env, [token]))
        else:
            fill(state, token)

    md.core.ruler.at(FIRST, inline_memoised)
    md.core.ruler.disable([name for name, _fn in chain if name != FIRST])
    md.inline_memo = memo
    md.blocks, md.inline_children = blocks, inline_children
    _MEMOS.append(memo)
    return md


def clear_all() -> None:
    """Forget every memoised content (a benchmark round that must see each text first)."""
    for memo in _MEMOS:
        memo.clear()
