"""Fenced code blocks as mail.inert reads them: nothing inside one is live, so a line taken for
a fence that CommonMark does not open would leave the lines after it live (found by
tests/fuzz/test_inert_property.py: HTML mail « ```@staff` » came out a live mention)."""
from __future__ import annotations

import pytest

from forumsync.mail.inert import ZWSP, fence_opening, live_syntax, neutralise_mentions
from forumsync.pipeline.post_inert import _force_inert_images


@pytest.mark.parametrize("text", [
    "```@staff`",              # a backtick fence's info string has no backtick: a paragraph
    "    ```\n@staff",         # 4 spaces: indented code, not a fence; the next line is text
    ">     ```\n> @staff",     # the same inside a quote
    "\t```\n@staff",           # a tab counts 4 columns
])
def test_a_line_that_opens_no_fence_leaves_no_mention_live(text):
    assert any(p.startswith("mention") for p in live_syntax(text, onebox=False))  # live as written
    assert live_syntax(neutralise_mentions(text), onebox=False) == []


@pytest.mark.parametrize("line, fence", [
    ("```", "```"), ("```python", "```"), ("~~~ `x`", "~~~"), ("   ````", "````"),
    ("> ```", "```"), ("> > ~~~", "~~~"),
    ("```@staff`", None), ("    ```", None), ("\t```", None), ("``", None),
])
def test_fence_opening_follows_commonmark(line, fence):
    assert fence_opening(line) == fence


def test_code_inside_a_real_fence_stays_as_written():
    text = "```\n@staff ![a](http://x.fr/a.png)\n```\n@admin"
    assert neutralise_mentions(text).split("\n")[1] == "@staff ![a](http://x.fr/a.png)"
    assert neutralise_mentions(text).endswith("@" + ZWSP + "admin")
    assert _force_inert_images(text).split("\n")[1] == "@staff ![a](http://x.fr/a.png)"


def test_images_after_a_line_that_opens_no_fence_are_made_inert():
    forced = _force_inert_images("```x`\n![a](http://x.fr/a.png)")
    assert live_syntax(forced, onebox=False) == []
