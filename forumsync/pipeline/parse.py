"""Stage: understand the message (sender, subject, date, references, body, attachments).

Fills msgdata as docs/CONTRACTS.md lists; decides nothing (never drops).
"""
from __future__ import annotations

from forumsync.mail import all_recipients, header_all, header_str
from forumsync.mail.body import extract_body
from forumsync.mail.dates import message_date
from forumsync.mail.footer import strip_footer
from forumsync.mail.ids import message_id_list, normalize_message_id
from forumsync.mail.organisation import guess_organisation
from forumsync.mail.sender import author_claims, real_sender
from forumsync.mail.subjects import clean_subject, subject_key
from .msgdata import MsgData

# Parts nobody wants in a forum post: signatures, Outlook's TNEF, contact cards.
IGNORED_TYPES = {"application/pgp-signature", "application/pkcs7-signature",
                 "application/x-pkcs7-signature", "text/vcard", "text/x-vcard", "text/directory"}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}


# Ids of a message's In-Reply-To and References kept, at most: threading needs the nearest
# ancestors, and a header of 20,000 ids cost seconds and SQL lookups of 20,000 values (red
# team, eighth pass).
MAX_REFERENCES = 100


def references(msg, own_id: str = "") -> list[str]:
    """In-Reply-To first, then References newest first; deduplicated, own id excluded, at
    most MAX_REFERENCES."""
    ids = message_id_list(" ".join(header_all(msg, "In-Reply-To")))
    ids += list(reversed(message_id_list(" ".join(header_all(msg, "References")))))
    out = dict.fromkeys(ids)
    out.pop(own_id, None)
    return list(out)[:MAX_REFERENCES]


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} Mo".replace(".", ",")


def select_attachments(settings, attachments):
    """(kept, refused) applying the type rules and the size/count limits of settings."""
    kept, refused = [], []
    for att in attachments:
        name = att.filename
        if att.content_type in IGNORED_TYPES or name.lower().endswith((".vcf", ".asc", ".p7s")):
            continue
        if att.content_type in TNEF_TYPES or name.lower() == "winmail.dat":
            refused.append({"filename": name, "reason": "pièce jointe au format Outlook "
                            "(winmail.dat) illisible hors d'Outlook : ignorée"})
            continue
        if not att.data:
            continue
        if len(att.data) > settings.MAX_ATTACHMENT_BYTES:
            refused.append({"filename": name, "reason": f"fichier trop volumineux ({_size(len(att.data))}"
                            f", maximum {_size(settings.MAX_ATTACHMENT_BYTES)})"})
            continue
        if len(kept) >= settings.MAX_ATTACHMENTS:
            refused.append({"filename": name, "reason": f"trop de pièces jointes (au plus "
                            f"{settings.MAX_ATTACHMENTS} par message)"})
            continue
        kept.append(att.as_dict())
    return kept, refused


def process(ctx, msg, msgdata: MsgData):
    settings = ctx.settings
    own_id = msgdata.get("message_id") or normalize_message_id(header_str(msg, "Message-ID"))
    name, address = real_sender(msg, settings.LIST_ADDRESS)
    # a munged mail whose headers offer several authors: none is believed (stage sender)
    msgdata["several_authors"] = len(author_claims(msg, settings.LIST_ADDRESS)) > 1
    msgdata["from_name"] = name or address.partition("@")[0]
    msgdata["from_email"] = address
    subject = header_str(msg, "Subject")
    msgdata["subject"] = subject
    title, tags = clean_subject(subject, settings.LIST_TAG)
    msgdata["title"] = title
    msgdata["subject_key"] = subject_key(title)
    msgdata["subject_tags"] = tags
    msgdata["date"] = message_date(header_str(msg, "Date"), msgdata.get("received_at"))
    msgdata["references"] = references(msg, own_id)
    msgdata["recipients"] = all_recipients(msg)
    body = extract_body(msg)
    text, _ = strip_footer(body.markdown, settings.LIST_FOOTER_PATTERNS)
    msgdata["body"] = text
    if body.full_text is not None:  # part of the text left out of the body: the post is cut
        msgdata["full_text"] = body.full_text
    msgdata["body_source"] = body.source
    msgdata["attachments"], msgdata["refused_attachments"] = select_attachments(settings, body.attachments)
    msgdata["organisation"] = guess_organisation(address, text)
