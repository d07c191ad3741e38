"""The ``msgdata`` contract in code: every key the pipeline stages share, and who sets it.

``msgdata`` stays a plain dict at run time (it is pickled to the prepare pool and back);
this ``TypedDict`` lets a reader (and a type checker) see each key, its type and the stage
that owns it, in the order the stages run (``forumsync.pipeline.STAGES``). A stage only
writes the keys it owns, except where a comment says it overrides an earlier one; the
poster (``username``, ``staged``, ``attribution``) is ``author``'s alone.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, TypedDict


class MsgData(TypedDict, total=False):
    # runner (pipeline/runner.py): the row's keys, before any stage
    inbox_id: int
    channel: str
    message_id: str  # normalised, no <>
    received_at: datetime
    meta: dict[str, Any]
    attempt: int  # 1 on the first try; > 1: reconcile with the forum before writing
    interrupted: int  # claims of the row that ended with its worker dead (runner: set aside at 3)
    writes: list[Callable[[Any], None]]  # fn(session), run in the row's final transaction
    batch: dict[str, Any]  # forum facts shared by one run_pending batch
    # parse
    from_name: str
    from_email: str  # after DMARC un-munging; replyto overrides it with the token's recipient
    several_authors: bool  # a munged mail offering several author addresses (mail.sender.author_claims)
    subject: str
    title: str
    subject_key: str
    subject_tags: list[str]
    date: datetime  # aware UTC, clamped
    references: list[str]  # In-Reply-To first, then References newest first
    recipients: list[str]
    body: str  # Markdown, sanitized; trim replaces it
    full_text: str  # every text part as decoded, when the body left some out (mail/body.py): the post is cut
    attachments: list[dict[str, Any]]
    refused_attachments: list[dict[str, str]]
    organisation: str | None
    body_source: str  # "plain", "html" or "empty"
    # trim
    trimmed: bool
    # replyto (before thread): a signed reply address sets the target; thread then skips
    reply_target: Any  # outbound.replykeys target (topic, post, recipient)
    # thread (skipped when replyto set topic_id); access and publish may override these
    topic_id: int | None  # None: a new topic; publish sets the final one
    reply_to_post_number: int | None
    parent_post_id: int | None
    thread_reason: str
    root_message_id: str
    adopt_root: bool
    # pipeline/batch.py (batched import only): the waiting message this one replies to
    pending_parent: str
    pending_topic_only: bool  # in pending_parent's topic, to no post (joined by subject)
    # route
    theme: str | None
    route_reason: str
    route_scores: list[str]
    # sender: facts about who sent it (how far From is believed); author decides from them
    auth_verdict: str  # "pass", "fail" (raises Quarantine) or "none"
    auth_reason: str
    sender_account: str | None  # the forum account that may post it under its own name
    sender_staged: bool  # else: the plugin may post it as a staged user; neither: the bridge
    # (sender also marks from_name « (adresse non vérifiée) » for a borrowed-looking name)
    username_hint: str | None  # a marked staged sender: what the plugin makes its username from
    # live_topic (replies): the topic as the forum shows it now; may move topic_id and
    # reply_to_post_number to where a lead moved the parent post
    live_topic: dict[str, Any] | None
    topic_closed: str | None  # "closed", "archived" or None
    # closed_topic: a reply to a closed or archived topic goes to its continuation (topic_id,
    # root_message_id, theme as access and route set them); the French notice opening it
    notice: str | None
    # author: who posts it, decided in this one place from sender's facts and
    # poster_refused (no other module sets these keys; pipeline/batch.py runs author with the
    # topic taken as open, which the plugin checks)
    username: str | None  # the posting account; None for a staged post
    staged: bool
    attribution: str | None  # set when the bridge account posts it
    poster_refused: bool  # author.fall_back, asked by refusal_policy: the forum refused the poster
    # reconcile (attempt > 1): True when an earlier attempt's post was found and recorded
    reconciled: bool
    # publish (its own working keys between writes, then the result); refusal_policy sets
    # files_apart, and on a 403/refused staging asks author.fall_back (see author)
    draft: Any  # draft.Draft: the post as last composed
    post_files: list[Any]  # attach: the files sent with the post (plugin), else None
    files_apart: bool
    full_text_url: str
    post_id: int
    post_number: int


def post_key(msgdata) -> str:
    """The id the forum knows this message's post by (the plugin's ``message_id``, the hidden
    marker, a topic's ``external_id``): its Message-ID; but a copy of a Message-ID
    (``inbound/copies``: another mail claiming it) gets an id of its own, so that it never
    takes the post of another copy for its own: a forgery's post, written but not recorded,
    was recorded as the genuine mail's (red team, twenty-first pass)."""
    if (msgdata.get("meta") or {}).get("copy_of"):
        return f"copie.{msgdata['inbox_id']}.{msgdata['message_id']}"
    return msgdata["message_id"]
