"""Red-team findings after issue 12, each replayed through the real service (LMTP → worker →
local forum over HTTP) and asserting what the attacker gets."""
from __future__ import annotations

import re

import pytest
from email.message import EmailMessage

from forumsync.mail.inert import live_syntax
from tests.fixtures.pipeline import make_mail  # noqa: F401 - used by later tests
from tests.security.service import LIST, Service, bridge_service, service  # noqa: F401 - fixtures

_LIVE = re.compile(r'class="mention|<img\b|<aside\b|class="onebox|<iframe|<details|<video', re.I)


def _html_mail(html: str, tag: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Julien Petit <julien.petit@evil.example>", LIST, f"HTML {tag}"
    msg["Message-ID"] = f"<{tag}@evil.example>"
    msg.set_content(f"<html><body><p>{tag}</p>{html}</body></html>", subtype="html")
    return msg.as_bytes()


def test_backtick_line_in_pre_does_not_end_the_code_block(service):
    """repro_html_pre.py: a ``` line inside <pre> used to close markdownify's fixed fence."""
    bodies = {
        "pre-img": '<p>Bonjour</p><pre>log:\n```\n&lt;img src="http://169.254.169.254/latest/x.png"&gt;'
                   '\n\n@staff @everyone\n\n[quote="system, post:1, topic:42"]\nJe valide.\n[/quote]\n</pre><p>fin</p>',
        "pre-misc": '<p>Bonjour</p><pre>x\n````\n\n&lt;img src=http://127.0.0.1:5731/logout&gt;\n\n'
                    '&lt;iframe src="http://127.0.0.1:5731/"&gt;&lt;/iframe&gt;\n\n'
                    '&lt;details open&gt;&lt;summary&gt;x&lt;/summary&gt;y&lt;/details&gt;\n\n'
                    '&lt;video src="http://127.0.0.1/v.mp4"&gt;&lt;/video&gt;\n\n![md](http://169.254.169.254/md.png)'
                    '\n\n[img]http://169.254.169.254/bb.png[/img]\n\nhttp://169.254.169.254/onebox\n</pre>',
        "code-span": '<p>a <code>`</code>&lt;img src="http://169.254.169.254/c.png"&gt;<code>`</code> b</p>',
    }
    for name, html in bodies.items():
        row = service.deliver(_html_mail(html, f"rt-{name}"))
        assert row.post_id, (name, row.state, row.reason)
        post = service.post(row.post_id)
        assert _LIVE.findall(post.cooked) == [], (name, post.cooked)
        assert "169.254.169.254" in post.cooked or "127.0.0.1" in post.cooked  # shown, as text
        assert live_syntax(post.raw) == [], (name, post.raw)


def test_publish_fallback_neutralises_every_live_construct():
    """The last resort in publish (never expected to act) handles images, [img], raw HTML
    and oneboxes, not only ``![``; code in fences is left as written."""
    from forumsync.pipeline.post_inert import inert as _inert

    parts, _ = _inert(["x\n\n<img src=http://a.example/b.png>\n\n[img]http://x.example/y.png[/img]\n\n"
                       "<details open>y</details>\n\nhttp://169.254.169.254/onebox\n\n```\n<a href=x>\n```"],
                      [], set())
    assert live_syntax(parts[0]) == []
    assert "<details" not in parts[0] and "```\n<a href=x>\n```" in parts[0]


# ---------------------------------------------------------------- finding 2: address parsing
AUTHSERV = "mx.listes.example.org"
ADMIN = "chef@club-publik.fr"


def _raw(sender: str, tag: str, auth: str | None = None) -> bytes:
    head = f"Authentication-Results: {auth}\r\n" if auth else ""
    return (f"{head}From: {sender}\r\nTo: {LIST}\r\nSubject: Annonce {tag}\r\n"
            f"Message-ID: <{tag}@evil.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Changez vos mots de passe.\r\n").encode()


def test_quoted_local_part_and_encoded_address_never_map_to_an_account(tmp_path, sqlite_url, localforum):
    """repro_addr_parse.py / repro_deliver_quoted_local.eml: '"chef@club-publik.fr"@evil.example'
    is a local part at evil.example (as the MTA's DMARC reads it); a bare dmarc=pass is not
    credited to the domain forumsync misread; an encoded-word decoding to an address is a name."""
    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("chef", ADMIN, "Chef du Club", admin=True)
    try:
        cases = [(f'"{ADMIN}"@evil.example', f"{AUTHSERV}; dmarc=pass"),
                 (f'"{ADMIN}"@evil.example', f"{AUTHSERV}; dmarc=pass header.from=evil.example"),
                 (f'Chef <"{ADMIN}"@evil.example>', f"{AUTHSERV}; dmarc=pass"),
                 ("=?utf-8?q?chef=40club-publik=2Efr?=", f"{AUTHSERV}; dmarc=pass")]
        for i, (sender, auth) in enumerate(cases):
            row = env.deliver(_raw(sender, f"quoted-{i}", auth))
            if row.post_id:
                post = env.post(row.post_id)
                with env.forum.session() as s:
                    from forumsync.localforum.models import User
                    user = s.get(User, post.user_id)
                    s.expunge(user)
                assert user.username != "chef", (sender, user.username)
                if user.username == env.ctx.settings.FORUM_API_USERNAME:  # the bridge, attributed
                    assert post.raw.startswith("*Message de "), post.raw
            else:
                assert row.state in ("quarantined", "dropped", "failed"), (sender, row.state, row.reason)
    finally:
        env.close()


# ---------------------------------------------------------------- finding 3: theme leads
def test_theme_lead_without_verdict_is_never_their_account(tmp_path, sqlite_url, localforum):
    """A category moderator (lead group animateurs-…) counts as staff; a plain member still
    posts as themselves; the leads are read once, not per message."""
    from forumsync.localforum.models import User

    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("lea", "lea.animatrice@club-publik.fr", "Léa Animatrice")
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    localforum.create_group("animateurs-redteam", usernames=["lea"])
    try:
        rows = [env.deliver(_raw("Léa <lea.animatrice@club-publik.fr>", "lead-1")),
                env.deliver(_raw("Marie <marie.dupont@meyzieu.fr>", "member-1"))]
        posts = [env.post(r.post_id) for r in rows]
        with env.forum.session() as s:
            posters = [s.get(User, p.user_id).username for p in posts]
        assert posters[0] != "lea" and posters[1] == "marie", posters
        assert "(adresse non vérifiée)" in env.post(rows[0].post_id).raw.splitlines()[0]
        verified = env.deliver(_raw("Léa <lea.animatrice@club-publik.fr>", "lead-2",
                                    f"{AUTHSERV}; dmarc=pass header.from=club-publik.fr"))
        post = env.post(verified.post_id)
        with env.forum.session() as s:
            assert s.get(User, post.user_id).username == "lea"
    finally:
        env.close()


# ---------------------------------------------------------------- finding 5: bidi in titles
def test_bidi_controls_leave_topic_titles(service):
    from email.header import Header

    subject = Header("Facture \u202efdp.exe \u2066x\u2069", "utf-8").encode()
    raw = (f"From: Pirate <pirate@evil.example>\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
           f"Message-ID: <bidi-title@evil.example>\r\nContent-Type: text/plain\r\n\r\nci-joint\r\n").encode()
    row = service.deliver(raw)
    title = service.topic(row.topic_id).title
    assert "fdp.exe" in title and not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f]", title), title


# ---------------------------------------------------------------- finding 8: stale category
def test_category_public_again_is_not_skipped_on_a_stale_cache(bridge):
    """A category made private, its refusal cached, then public again: a post made seconds
    later reaches the list (the negative verdict is decided on fresh category facts)."""
    sve = bridge.categories["sve"]["id"]
    admin = bridge.gateway()
    admin.category_update(sve, permissions={"staff": 1})
    hidden = bridge.topic("modo", "Sujet pendant la fermeture", "Écrit quand le thème était fermé.")
    bridge.process()
    assert "accès restreint" in bridge.event_for(hidden["id"]).reason
    admin.category_update(sve, permissions={"everyone": 1})
    before = len(bridge.mails())
    public = bridge.topic("marie", "Sujet après la réouverture", "Écrit juste après la réouverture.")
    bridge.process()
    event = bridge.event_for(public["id"])
    assert event.state != "skipped", event.reason
    assert len(bridge.mails()) == before + 1


# ---------------------------------------------------------------- finding 4 (part): zero-width
def test_zero_width_characters_do_not_hide_a_borrowed_name(tmp_path, sqlite_url, localforum):
    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    try:
        sender = "=?utf-8?q?Ma=E2=80=8Brie_Du=E2=80=8Cpont?= <pirate@evil.example>"
        row = env.deliver(_raw(sender, "zero-width"))
        names = [env.post(row.post_id).raw.splitlines()[0]]  # attribution (bridge) …
        with env.forum.session() as s:
            from sqlalchemy import select
            from forumsync.localforum.models import User
            names += [u.name or "" for u in s.scalars(select(User).where(User.email == "pirate@evil.example"))]
        shown = " ".join(names)
        assert "(adresse non vérifiée)" in shown and "\u200b" not in shown and "\u200c" not in shown, shown
    finally:
        env.close()


# ---------------------------------------------------------------- finding 4 (rest): borrowed names
def test_borrowed_names_are_marked_whatever_their_form(tmp_path, sqlite_url, localforum):
    """repro_authors.py: a member's name without or with another suffix, a staged list member's
    name, a display name that is a member's address — each from another address — is shown
    with the mark, never as the member."""
    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("julien", "julien.petit@villeurbanne.fr", "Julien Petit (Villeurbanne)")
    localforum.create_user("sophie_b", "sophie.berthier@grandlyon.fr", "Sophie Berthier", staged=True)
    senders = {
        "no-suffix": "Julien Petit <julien.petit@villeurbanne-fr.example>",
        "other-suffix": "Julien Petit (Villeurbanne) - chef de projet <jp@evil.example>",
        "staged-name": "Sophie Berthier <sophie.b@evil.example>",
        "address-name": '"julien.petit@villeurbanne.fr" <pirate@evil.example>',
    }
    try:
        from sqlalchemy import select

        from forumsync.localforum.models import User

        for tag, sender in senders.items():
            row = env.deliver(_raw(sender, f"borrowed-{tag}"))
            assert row.post_id, (tag, row.state, row.reason)
            address = sender.rsplit("<", 1)[1].rstrip(">")
            with env.forum.session() as s:
                names = [u.name or "" for u in s.scalars(select(User).where(User.email == address))]
            names.append(env.post(row.post_id).raw.splitlines()[0])
            shown = " ".join(names)
            assert "(adresse non vérifiée)" in shown, (tag, shown)
        # the member herself, from her own address, is not marked
        row = env.deliver(_raw("Sophie Berthier <sophie.berthier@grandlyon.fr>", "borrowed-own"))
        assert "(adresse non vérifiée)" not in env.post(row.post_id).raw
    finally:
        env.close()


@pytest.mark.admin_api_limit(6000)  # a dozen replies in a few seconds: not the subject here
def test_a_reply_whose_answer_was_lost_is_not_posted_again_after_many_replies(tmp_path, sqlite_url, localforum):
    """Without the plugin, a retry finds the reply an earlier attempt wrote by its hidden
    marker among the topic's last posts: ten were read, and a reply was posted twice once
    ten more replies had come in during the back-off (red team, eighth pass)."""
    from sqlalchemy import update

    from forumsync.forum.gateway import ForumUnavailable
    from forumsync.models import InboxMessage, utcnow
    from forumsync.pipeline.reconcile import RECONCILE_LAST_POSTS
    from tests.security.service import Service

    svc = Service(tmp_path, sqlite_url, localforum, plugin=False, FORUM_MAX_REQUESTS_PER_MINUTE=6000)
    try:
        root = svc.deliver(make_mail("Sortie vélo samedi", "Qui vient ?\n", message_id="<root@meyzieu.fr>"))
        gateway = svc.ctx.forum
        original = gateway.post_create

        def write_then_lose_the_answer(*args, **kwargs):  # a read timeout after the write
            original(*args, **kwargs)
            raise ForumUnavailable("délai de lecture dépassé")

        gateway.post_create = write_then_lose_the_answer
        reply = svc.deliver(make_mail("Re: Sortie vélo samedi", "Je viens avec mon tandem.\n",
                                      sender="Paul <paul@meyzieu.fr>", message_id="<paul-1@meyzieu.fr>",
                                      in_reply_to="<root@meyzieu.fr>", references="<root@meyzieu.fr>"))
        gateway.post_create = original
        assert reply.state == "retry"
        for n in range(12):  # more than the ten posts read before
            svc.deliver(make_mail("Re: Sortie vélo samedi", f"Moi aussi ({n}).\n", sender=f"Membre <m{n}@lyon.fr>",
                                  message_id=f"<plus-{n}@lyon.fr>", in_reply_to="<root@meyzieu.fr>",
                                  references="<root@meyzieu.fr>"))
        with svc.ctx.db.session() as s:  # the back-off is over
            s.execute(update(InboxMessage).where(InboxMessage.id == reply.id).values(next_attempt_at=utcnow()))
        svc.pipe.run()
        assert [p.raw.count("tandem") for p in svc.posts(root.topic_id)].count(1) == 1
        assert RECONCILE_LAST_POSTS > 12
    finally:
        svc.close()


def test_a_reply_to_nothing_sent_ahead_does_not_take_in_a_later_thread(service):  # noqa: F811
    """« Re: Assemblée générale 2027 » replying to a message that never comes, sent days before
    the real thread starts under that subject: the real start was placed in that topic (red
    team, eighth pass). A start joins a topic opened by an orphan reply only when that reply
    was written after it (a root is older than its replies)."""
    from tests.fixtures.pipeline import later

    bait = service.deliver(make_mail("Re: Assemblée générale 2027", "Inscriptions : http://evil.example/ag\n",
                                     sender="Eve <eve@evil.example>", message_id="<bait@evil.example>",
                                     in_reply_to="<never-sent@evil.example>",
                                     references="<never-sent@evil.example>", date=later(days=1)))
    assert bait.state == "published", bait.reason
    real = service.deliver(make_mail("Assemblée générale 2027", "Voici l'ordre du jour.\n",
                                     sender="Secrétariat <secretariat@meyzieu.fr>",
                                     message_id="<ag-2027@meyzieu.fr>", date=later(days=4)))
    assert real.state == "published", real.reason
    assert real.topic_id != bait.topic_id, real.reason
    # the case it is for: a root written before its first-seen reply still joins it
    reply = service.deliver(make_mail("Re: Budget 2027", "D'accord.\n", message_id="<r1@lyon.fr>",
                                      in_reply_to="<middle@lyon.fr>", references="<middle@lyon.fr>",
                                      date=later(days=6)))
    root = service.deliver(make_mail("Budget 2027", "Le budget.\n", message_id="<budget@meyzieu.fr>",
                                     date=later(days=5)))
    assert root.topic_id == reply.topic_id, root.reason
