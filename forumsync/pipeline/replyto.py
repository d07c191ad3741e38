"""Stage ``replyto``: a reply sent to a signed address ``local+{token}@domain``.

Mail that forumsync sends to one person (a welcome message…) carries a Reply-To signed for
that person and a topic (``forumsync.outbound.replykeys``). When one of the message's
recipients is such an address, this stage validates it against the sender and, if it holds,
directs the message into that topic (overriding ``thread``'s guess), replying to the post
the token names; the ``author`` stage then posts it as the sender (who is the recipient the
token was made for). A forged, expired or mismatched token ends the message with ``Drop``
(reason visible in ``forumsync inbox list``): nothing is posted. The sender gets a short
French explanation only when authenticated or a list member, at most once an hour, with
nothing of the message echoed (``forumsync.outbound.refusals``: no backscatter).

Runs before ``thread`` (which then keeps the topic set here) and before
``access``/``route``/``author``.
"""
from __future__ import annotations

from sqlalchemy import select

from ..forum.gateway import ForumNotFound
from ..mail.addresses import all_recipients
from ..models import PostLink
from ..outbound import refusals
from ..outbound.replykeys import BadReplyToken, is_reply_address, parse_reply_address
from .errors import Drop
from .msgdata import MsgData


def signed_recipients(settings, msg, msgdata) -> list[str]:
    candidates = list((msgdata.get("meta") or {}).get("recipients") or [])
    candidates += list(msgdata.get("recipients") or [])
    if "recipients" not in msgdata:  # the parse stage stores all_recipients(msg) there
        candidates += all_recipients(msg)
    seen = []
    for address in candidates:
        address = str(address).strip().strip("<>").lower()
        if address and address not in seen and is_reply_address(settings, address):
            seen.append(address)
    return seen


def process(ctx, msg, msgdata: MsgData) -> None:
    settings = ctx.settings
    addresses = signed_recipients(settings, msg, msgdata)
    if not addresses:
        return
    sender = (msgdata.get("from_email") or "").strip().lower()
    if not sender:
        from ..mail import header_str, parse_address

        sender = parse_address(header_str(msg, "From"))[1]
    error = None
    for address in addresses:
        try:
            target = parse_reply_address(settings, address, sender)
            break
        except BadReplyToken as exc:
            error = exc
    else:
        outcome = refuse(ctx, msg, msgdata, sender, error)
        raise Drop(f"adresse de réponse refusée : {error.reason} ; {outcome}")
    post_number = None
    if target.post_id:
        with ctx.db.session() as session:
            link = session.scalars(select(PostLink).where(PostLink.post_id == target.post_id)).first()
            post_number = link.post_number if link else None
        if post_number is None:
            try:
                post_number = ctx.forum.post_get(target.post_id).get("post_number")
            except ForumNotFound:
                post_number = None
    msgdata.update(topic_id=target.topic_id, reply_to_post_number=post_number,
                   parent_post_id=target.post_id, reply_target=target, from_email=target.recipient,
                   thread_reason=f"réponse à une adresse signée (sujet {target.topic_id})")


def refuse(ctx, msg, msgdata, sender: str, error: BadReplyToken) -> str:
    """Tell the sender, in French, why nothing was posted — only an authenticated sender or a
    list member, at most once an hour, echoing nothing of the message (``outbound.refusals``).
    Returns what happened, for the inbox row's reason."""
    key = f"refusal:{msgdata.get('message_id') or msgdata.get('inbox_id')}"
    return refusals.send_refusal(ctx, msg, sender, error.reason, key)
