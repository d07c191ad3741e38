"""The step that sends a message's files to the forum, before its post is composed.

Two ways (``uploads``): through the plugin the files travel in the post's own request
(``forumsync-file:N`` in the raw: one write per mail, capability ``post_files``, staged
authors); otherwise each file is uploaded first and the post links its URL. The links and
notes may take at most 1/``NOTES_SHARE`` of the forum's maximum post length: past that, the
files are neither sent nor uploaded and only counted (« … et N autres pièces jointes »).
The result, ``Attached``, is all the pure composer (``draft``) needs to know about files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..forum.gateway import ForumRejected
from ..mail import cuts
from ..mail.inert import escape_fragment, inert_filename, link_label
from . import post_limits, uploads

NOTES_SHARE = 2  # attachment links and notes may take at most 1/NOTES_SHARE of the post
FULL_TEXT_NAME = cuts.FULL_TEXT_NAME


@dataclass
class Attached:
    links: list[str] = field(default_factory=list)  # Markdown after the body, one per file
    cids: list[tuple[str, str]] = field(default_factory=list)  # (content_id, url) the body shows
    inline: list[tuple[str, str]] = field(default_factory=list)  # (label, url) of those images
    notes: list[str] = field(default_factory=list)  # files the forum refused, named
    omitted: int = 0  # files left out for room
    own: set = field(default_factory=set)  # URLs of our own uploads (the inert check allows them)
    budget: int = 0  # characters the links and notes may take


def inline_image(cid: str) -> re.Pattern:
    """An image of the body that shows the part CID: ``![label](cid:CID)`` whole, as the mail
    reading writes it (``mail/html.py``, ``mail/body.image_markdown``), and nothing else. The
    composer puts the file's address there only: « cid:CID » elsewhere is the sender's text (a
    code line, an address, the beginning of a longer Content-ID); made a file reference there,
    the last check broke it, the plugin refused the post for a file it did not name, and a
    longer Content-ID (« ii_a10 » after « ii_a1 ») lost its image (red team, 48th pass)."""
    # A URL's scheme is any case (RFC 3986, 3.1: « CID:… » from some mailers) and the mail
    # reading finds a part by its Content-ID in any case (``mail/body.py``): the same here, or
    # the image stayed escaped text in the post and its file went to the end (49th pass).
    return re.compile(rf"(?<!\\)(!\[[^\]\n]*\]\()cid:{re.escape(cid)}\)", re.IGNORECASE)


def files_with_post(ctx, msgdata) -> bool:
    """Send the attachments in the post's own request (one forum call per mail): the plugin
    posts for staged authors and says it takes files (capability ``post_files``)."""
    if not msgdata.get("staged") or msgdata.get("files_apart"):
        return False
    return ctx.forum.has_feature("post_files")


def link_markdown(label: str, url: str, content_type: str | None) -> str:
    """An image shown, any other file as a Discourse attachment link."""
    if (content_type or "").startswith("image/"):
        return f"![{label}]({url})"
    return f"[{label}|attachment]({url})"


def attach(ctx, msgdata) -> Attached:
    """Send or upload the message's attachments; ``msgdata["post_files"]`` holds the files
    that go with the post itself (None when uploaded apart)."""
    body = msgdata.get("body") or ""
    done = Attached(budget=post_limits.max_post_chars(ctx.forum) // NOTES_SHARE)
    used = 0
    files = [] if files_with_post(ctx, msgdata) else None
    claimed: set[str] = set()  # the Content-IDs (any case) an image of the body already shows
    for attachment in msgdata.get("attachments") or []:
        name = inert_filename(attachment.get("filename") or "") or "piece-jointe"
        label = link_label(name)
        cid = attachment.get("content_id")
        # A Content-ID the mail gives twice names one image: the first part takes it, a later
        # one is linked like any file (it took the same place, then the plugin refused the post
        # for a file it did not name, and written again with files apart the file was in no
        # image and no link: lost; red team, 49th pass).
        in_body = bool(cid and cid.lower() not in claimed and inline_image(cid).search(body))
        if in_body:
            claimed.add(cid.lower())
        if not in_body and used + len(label) + 80 > done.budget:
            done.omitted += 1  # neither sent nor uploaded: the post could not name it
            continue
        if files is not None:
            url = uploads.reference(ctx.forum, files, name, attachment["data"],
                                    attachment.get("content_type"))
        else:
            try:
                upload = uploads.upload(ctx.forum, name, attachment["data"],
                                        attachment.get("content_type"))
            except ForumRejected as exc:
                done.notes.append(f"« {escape_fragment(name)} » refusée par le forum "
                                  f"({escape_fragment('; '.join(exc.errors) or str(exc.status))})")
                continue
            url = upload.get("short_url") or upload.get("url")
        done.own.add(url)
        if in_body:
            done.cids.append((cid, url))
            done.inline.append((label, url))
        else:
            done.links.append(link_markdown(label, url, attachment.get("content_type")))
            used += len(done.links[-1]) + 1
    msgdata["post_files"] = files or None
    return done


def full_text_url(ctx, msgdata, raw: str) -> str:
    """Where the whole text of a post too long for the forum is (the body, else RAW): a file
    sent with the post (plugin), else uploaded once per attempt (``msgdata["full_text_url"]``)."""
    full = (msgdata.get("full_text") or msgdata.get("body") or raw).encode("utf-8", "replace")
    if files_with_post(ctx, msgdata):
        files = msgdata.get("post_files") or []
        url = uploads.reference(ctx.forum, files, FULL_TEXT_NAME, full, "text/plain")
        msgdata["post_files"] = files
        return url
    if "full_text_url" not in msgdata:
        upload = ctx.forum.upload_create(FULL_TEXT_NAME, full, "text/plain")
        msgdata["full_text_url"] = upload.get("short_url") or upload.get("url")
    return msgdata["full_text_url"]
