"""This attempt's post: the files first (``attach``), then the pure composer (``draft``),
fitted to the forum's length rules (``post_limits``) and to the refusals learnt so far.

``publish`` calls ``drafted`` once per version of the post (again after the refusal policy
changed the poster or sent the files apart) and ``fit`` before every write. ``compose``,
``fitted_text`` and ``known_problems`` are the same steps for ``pipeline/batch.py``, which
composes its items' posts without writing them one by one.
"""
from __future__ import annotations

from dataclasses import replace

from ..forum.refusals import BODY_LONG
from ..mail.inert import inert_name
from ..models import utcnow
from . import attach, draft, post_limits
from .budget import cpu_budget
from .draft import Draft


def drafted(ctx, msgdata, **target) -> Draft:
    """Send the files, then compose (TARGET: see ``draft.compose``); kept as ``msgdata["draft"]``."""
    if msgdata.get("from_name"):
        msgdata["from_name"] = inert_name(msgdata["from_name"])  # the staged user's name
    attached = attach.attach(ctx, msgdata)
    with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):  # the check of the text
        msgdata["draft"] = draft.compose(msgdata, attached, notice=msgdata.get("notice"),
                                         cut_over=post_limits.max_post_chars(ctx.forum), **target)
    return msgdata["draft"]


def fit(ctx, msgdata, composed: Draft, problems: set[str]) -> Draft:
    """COMPOSED adjusted to PROBLEMS; a post too long sends or uploads its full text first."""
    url = attach.full_text_url(ctx, msgdata, composed.raw) if BODY_LONG in problems else None
    max_chars = post_limits.max_post_chars(ctx.forum)
    with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):  # a cut is checked again
        return draft.fitted(composed, msgdata, problems, list_name=ctx.settings.LIST_NAME,
                            when=msgdata.get("date") or utcnow(), max_chars=max_chars,
                            full_text_url=url, title_rules=post_limits.title_rules(ctx.forum),
                            title_limits=post_limits.title_limits(ctx.forum))


def foreseen(ctx, msgdata, composed: Draft) -> set[str]:
    """The refusals COMPOSED would meet, known without a wasted write (a body that left text
    out is cut with the whole text attached, whatever the forum's maximum)."""
    return _cut_if_text_left_out(msgdata, post_limits.foreseen(
        ctx.forum, composed.raw, bool(msgdata.get("staged")), composed.title))


def _cut_if_text_left_out(msgdata, problems: set[str]) -> set[str]:
    """PROBLEMS, with BODY_LONG when the body left text out (``msgdata["full_text"]``): the
    post is cut and the whole text attached, whatever the forum's maximum."""
    return problems | {BODY_LONG} if msgdata.get("full_text") else problems


# ---------------------------------------------------------------------- for pipeline/batch.py
def compose(ctx, msgdata) -> str:
    """The post's Markdown (the draft is kept for ``fitted_text``)."""
    return drafted(ctx, msgdata).raw


def fitted_text(ctx, msgdata, problems: set[str], title, raw) -> tuple[str | None, str]:
    """TITLE and RAW of the kept draft, fitted to PROBLEMS."""
    fitted = fit(ctx, msgdata, replace(msgdata["draft"], title=title, raw=raw),
                 _cut_if_text_left_out(msgdata, problems))
    return fitted.title, fitted.raw


def known_problems(ctx, raw: str) -> set[str]:
    """Only a post over the maximum (the plugin checks no minimum)."""
    return post_limits.foreseen(ctx.forum, raw)
