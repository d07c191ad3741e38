"""Discourse's PostValidator (lib/validators/post_validator.rb) beyond the lengths
(``post_rules``), for the doors that validate: the core API and the local forum's own UI.
The plugin's door creates posts with ``skip_validations`` and never comes here.

PostValidator#validate returns after ``presence`` for a staged acting user, so every check
below spares staged users; each names its own other exemptions (staff, mostly).
"""
from __future__ import annotations

import hashlib
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from . import sitesettings
from .guardian import is_category_moderator
from .models import Post, Topic, UniquePostKey, User, utcnow

JUST_POSTED_THAT = "Body is too similar to what you recently posted"  # server.en.yml just_posted_that


def max_consecutive_replies_message(count: int) -> str:
    """server.en.yml ``max_consecutive_replies`` (one / other)."""
    if count == 1:
        return ("No consecutive replies are allowed. Please edit your previous reply, or wait "
                "for someone to reply to you.")
    return (f"No more than {count} consecutive replies are allowed. Please edit your previous "
            "reply, or wait for someone to reply to you.")


def unique_post_key(user_id: int, raw: str, private: bool) -> str:
    """Post#unique_post_key: ``unique[-pm]-post-{user_id}:{raw_hash}``, raw_hash the SHA1 of
    the raw as stored (PostCreator#setup_post normalised it: ``raw_form.stored_raw``)."""
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()
    return f"unique{'-pm' if private else ''}-post-{user_id}:{digest}"


def unique_post_errors(session, acting_user: User | None, author_id: int, raw: str,
                       private: bool, post_id: int | None = None) -> list[str]:
    """PostValidator#unique_post_validator: off when ``unique_posts_mins`` is 0; staff (and
    staged users) exempt; a blank raw is presence's business; else refused while the author's
    key for this raw holds another post's id (Post#matches_recent_post?). Runs on edits too
    (PostRevisor saves with validation; the key is the author's, the exemption the editor's)."""
    if sitesettings.get(session, "unique_posts_mins") == 0 or acting_user is None \
            or acting_user.staff or acting_user.staged or not raw.strip():
        return []
    row = session.get(UniquePostKey, unique_post_key(author_id, raw, private))
    if row is None or row.expires_at <= utcnow() or row.post_id == post_id:
        return []
    return [JUST_POSTED_THAT]


def store_unique_post_key(session, post, private: bool) -> None:
    """Post#store_unique_post_key, called by PostCreator#create for every post it creates
    (skip_validations or not, staff or not): SETEX key unique_posts_mins post.id."""
    minutes = sitesettings.get(session, "unique_posts_mins")
    if minutes <= 0:
        return
    key = unique_post_key(post.user_id, post.raw, private)
    row = session.get(UniquePostKey, key)
    if row is None:
        row = UniquePostKey(key=key)
        session.add(row)
    row.post_id = post.id
    row.expires_at = utcnow() + timedelta(minutes=minutes)


def consecutive_reply_errors(session, user: User, topic: Topic) -> list[str]:
    """PostValidator#force_edit_last_validator, for a new reply (never on an edit): off when
    ``max_consecutive_replies`` is 0; staff (and staged users), private messages, the topic's
    first poster and the category's group moderators exempt. Refused when the user wrote every
    one of the topic's last N posts (not deleted, not hidden) and may still edit the last one
    (the message asks to edit it: a post past its edit time limit lets the reply through)."""
    most = sitesettings.get(session, "max_consecutive_replies")
    if most == 0 or user.staff or user.staged or topic.archetype == "private_message":
        return []
    posts = select(Post).where(Post.topic_id == topic.id, Post.deleted_at.is_(None))
    first = session.scalars(posts.order_by(Post.post_number).limit(1)).first()
    if first is not None and first.user_id == user.id:
        return []
    if is_category_moderator(session, user, topic.category):
        return []
    last_authors = session.scalars(select(Post.user_id).where(
        Post.topic_id == topic.id, Post.deleted_at.is_(None), Post.hidden.is_(False))
        .order_by(Post.post_number.desc()).limit(most)).all()
    if sum(1 for author in last_authors if author == user.id) < most:
        return []
    last = session.scalars(posts.order_by(Post.post_number.desc()).limit(1)).first()
    if last is None or not can_edit_post(session, user, last):
        return []
    return [max_consecutive_replies_message(most)]


def can_edit_post(session, user: User, post: Post) -> bool:
    """PostGuardian#can_edit_post? as far as the local forum models it: admins; staff and the
    category's moderators (who may post there); else the author, outside an archived topic,
    a post not deleted, within its edit time limit (Post#edit_time_limit_expired?:
    ``post_edit_time_limit`` below trust level 2, ``tl2_post_edit_time_limit`` from 2)."""
    if user.admin or user.staff or is_category_moderator(session, user, post.topic.category):
        return True
    if post.topic.archived or post.deleted_at is not None or post.user_id != user.id:
        return False
    setting = "tl2_post_edit_time_limit" if user.trust_level >= 2 else "post_edit_time_limit"
    limit = sitesettings.get(session, setting)
    return not (limit and post.created_at < utcnow() - timedelta(minutes=limit))


# server.en.yml: (count, one, other) of each new-user limit, and its message at 0
_NEWUSER = {
    "links": ("Sorry, new users can't put links in posts.",
              "Sorry, new users can only put one link in a post.",
              "Sorry, new users can only put {n} links in a post."),
    "embedded_media": ("Sorry, new users can't embed media items in posts.",
                       "Sorry, new users can only put one embedded media item in a post.",
                       "Sorry, new users can only put {n} embedded media items in a post."),
    "attachments": ("Sorry, new users can't put attachments in posts.",
                    "Sorry, new users can only put one attachment in a post.",
                    "Sorry, new users can only put {n} attachments in a post."),
}
_ALLOWED_IMAGE_CLASSES = {"avatar", "favicon", "thumbnail", "emoji", "ytp-thumbnail-image"}


class _Counts(HTMLParser):
    """PostAnalyzer's counts on ``cooked_stripped`` (.onebox and .elided removed, the title
    of a quote too): links (``a`` but mentions, heading anchors and hashtags),
    attachments (``a.attachment``; the local cooking leaves the ``|attachment`` suffix in the
    link's text), embedded media (``img``, ``video``, ``audio`` but emoji, avatars…)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = self.attachments = self.media = 0
        self._skip = []  # the open elements whose content is removed (tag names)
        self._link = None  # [is an attachment, text] of the ``a`` being read

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] += 1
            return
        if classes & {"onebox", "elided"} or (tag == "div" and "title" in classes
                                               and self._in_quote):
            self._skip.append([tag, 1])
            return
        if tag == "aside" and "quote" in classes:
            self._in_quote = True
        if tag == "a":
            href = attrs.get("href") or ""
            mention = "mention" in (attrs.get("class") or "") and href.startswith(("/u/", "/users/"))
            anchor = "anchor" in (attrs.get("class") or "") and href.startswith("#")
            hashtag = "hashtag" in (attrs.get("class") or "") and href.startswith(("/c/", "/tag/"))
            if not (mention or anchor or hashtag):
                self.links += 1
                self._link = ["attachment" in classes, ""]
        elif tag in ("img", "video", "audio") and not classes & _ALLOWED_IMAGE_CLASSES:
            self.media += 1

    _in_quote = False

    def handle_endtag(self, tag):
        if self._skip:
            if tag == self._skip[-1][0]:
                self._skip[-1][1] -= 1
                if self._skip[-1][1] == 0:
                    self._skip.pop()
            return
        if tag == "aside":
            self._in_quote = False
        if tag == "a" and self._link is not None:
            if self._link[0] or self._link[1].rstrip().endswith("|attachment"):
                self.attachments += 1
            self._link = None

    def handle_data(self, data):
        if self._link is not None and not self._skip:
            self._link[1] += data


def new_user_errors(session, user: User, cooked: str, topic: Topic | None, private: bool) -> list[str]:
    """PostValidator's limits for a user below trust level 1 (``acting_user_is_trusted?``;
    staff pass it): #max_posts_validator (``posted_too_much_in_topic?``, new replies only),
    #max_embedded_media_validator (trust level 0: ``newuser_max_embedded_media``, 1),
    #max_attachments_validator (``newuser_max_attachments``, 0) and #newuser_links_validator
    (``newuser_max_links``, 2), the last two not in private messages."""
    if user.staff or user.staged or user.trust_level >= 1:
        return []
    errors = []
    if topic is not None and _posted_too_much_in_topic(session, user, topic):
        most = sitesettings.get(session, "newuser_max_replies_per_topic")
        errors.append(f"We're sorry, but new users are temporarily limited to {most} "
                      f"{'reply' if most == 1 else 'replies'} in the same topic.")
    counts = _Counts()
    counts.feed(cooked or "")
    counts.close()
    checks = [("embedded_media", counts.media)]
    if not private:
        checks = [("embedded_media", counts.media), ("attachments", counts.attachments),
                  ("links", counts.links)]
    for name, count in checks:
        most = sitesettings.get(session, f"newuser_max_{name}")
        if count > most:
            none, one, other = _NEWUSER[name]
            errors.append(none if most == 0 else one if most == 1 else other.format(n=most))
    return errors


def _posted_too_much_in_topic(session, user: User, topic: Topic) -> bool:
    """User#posted_too_much_in_topic?: at trust level 0, outside their own topic, as many
    posts as ``newuser_max_replies_per_topic`` since someone last replied to one of theirs
    (UserAction.last_action_in_topic: read here as a post whose reply_to_post_number is one
    of theirs)."""
    if topic.user_id == user.id:
        return False
    theirs = session.scalars(select(Post).where(Post.topic_id == topic.id, Post.user_id == user.id,
                                                Post.deleted_at.is_(None))).all()
    numbers = {p.post_number for p in theirs}
    answered = session.scalars(select(Post.id).where(
        Post.topic_id == topic.id, Post.user_id != user.id,
        Post.reply_to_post_number.in_(numbers or {-1})).order_by(Post.id.desc())).first()
    since = [p for p in theirs if answered is None or p.id > answered]
    return len(since) >= sitesettings.get(session, "newuser_max_replies_per_topic")
