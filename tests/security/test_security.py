"""Hostile input and access: limits with French refusals, header injection, HTML/JS never
reaching the forum or the list unsanitised, no relay, tokens and signatures required, and no
secret in any log (in-process at DEBUG and in the separate processes' output).

Also covered elsewhere (kept there, not repeated): forged/expired/mismatched reply tokens post
nothing (tests/outbound/test_round_trip.py::test_bad_signed_address_refused_nothing_posted,
tests/outbound/test_replykeys.py), dashboard login and CSRF on every action
(tests/web/test_auth.py), webhook signature variants (tests/forum/test_webhooks.py), archive
and JSON/XML bombs in catalogue sources (tests/catalogue/test_bundle.py, test_wcs_api.py,
test_wcs_xml.py)."""
from __future__ import annotations

import email
import hashlib
import hmac
import json
import logging
import smtplib
from email import policy

import pytest
from sqlalchemy import func, select

from forumsync.inbound.ingest import MAX_HEADER_COUNT, MAX_MIME_NESTING, Refused, ingest
from forumsync.inbound.lmtp import start_lmtp_server
from forumsync.localforum.models import Category, Post
from forumsync.models import InboxMessage, OutboxMail
from forumsync.outbound.compose import compose_personal
from tests.faults.common import Rig
from tests.fixtures.pipeline import make_mail, make_pipe
from forumsync.testing.lmtp_client import make_message

from tests.faults.test_forum_faults import _wait


def _count(ctx) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(InboxMessage))


# ---------------------------------------------------------------- limits
@pytest.mark.parametrize("case", ["size", "header_count", "header_length", "mime_depth"])
def test_limits_refuse_with_a_french_reason_before_storage(case, tmp_path, sqlite_url, localforum):
    ctx, _ = make_pipe(tmp_path, sqlite_url, localforum, MAX_MESSAGE_BYTES=200_000)
    base = make_mail()
    raw = {
        "size": base + b"x" * 300_000,
        "header_count": b"".join(b"X-H%d: v\n" % i for i in range(MAX_HEADER_COUNT + 1)) + base,
        "header_length": b"X-Long: " + b"a" * (1024 * 1024 + 10) + b"\n" + base,
        "mime_depth": b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\n" + b"".join(
            b'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (i, i)
            for i in range(MAX_MIME_NESTING + 5)) + b"Content-Type: text/plain\n\nfond\n",
    }[case]
    if case == "header_length":
        ctx = make_pipe(tmp_path, sqlite_url, localforum, MAX_MESSAGE_BYTES=5_000_000)[0]
    with pytest.raises(Refused) as refused:
        ingest(ctx, raw, "http")
    assert refused.value.message_fr and any(w in refused.value.message_fr.lower()
                                            for w in ("trop", "limite"))
    assert _count(ctx) == 0


# Posts forumsync wrote: not the "About the … category" topics Discourse makes with categories.
NOT_ABOUT = Post.topic_id.not_in(select(Category.topic_id).where(Category.topic_id.is_not(None)))


def test_attachment_size_and_count_limits_noted_in_the_post(tmp_path, sqlite_url, localforum):
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, MAX_ATTACHMENT_BYTES=1000,
                          MAX_ATTACHMENTS=2)
    pipe.provision()
    attachments = [("gros.pdf", "application/pdf", b"%PDF" + b"0" * 5000)] + [
        (f"petit-{i}.txt", "text/plain", b"bonjour") for i in range(4)]
    pipe.feed(make_mail(subject="Pièces jointes", attachments=attachments))
    pipe.run()
    with localforum.session() as s:
        raw = s.scalars(select(Post.raw).where(NOT_ABOUT)).one()
    assert "gros.pdf" in raw and "petit-0.txt" in raw and "petit-1.txt" in raw
    assert raw.count("trop") >= 2 or "maximum" in raw  # refusals explained in French


# ---------------------------------------------------------------- injection
def test_crlf_in_names_and_subjects_never_makes_headers(tmp_path, sqlite_url):
    from tests.fixtures.database import make_settings

    settings = make_settings(tmp_path, sqlite_url)
    evil = "Marie\r\nBcc: victime@example.org\r\nX-Injecte: oui"
    msg = compose_personal(settings, to="marie@meyzieu.fr", to_name=evil,
                           subject="Bienvenue\r\nBcc: victime@example.org\nX-Injecte: oui",
                           text="Bonjour\r\nBcc: pas-un-en-tete@example.org")
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Injecte"] is None
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert not any(line.lower().startswith((b"bcc:", b"x-injecte:")) for line in head.splitlines())


def test_html_and_javascript_in_mail_never_reach_the_forum(tmp_path, sqlite_url, localforum):
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum)
    pipe.provision()
    html = ('<html><body><p>Bonjour <script>alert("x")</script><img src="x" onerror="alert(1)">'
            '<a href="javascript:alert(2)">lien</a><iframe src="https://evil.example"></iframe>'
            '<div onmouseover="alert(3)">survol</div></p></body></html>')
    msg = email.message.EmailMessage()
    msg["From"] = "Pirate <pirate@evil.example>"
    msg["To"] = "club@listes.example.org"
    msg["Subject"] = 'Titre <script>alert("t")</script>'
    msg["Message-ID"] = "<xss-html@evil.example>"
    msg.set_content(html, subtype="html")
    pipe.feed(msg.as_bytes())
    pipe.feed(make_mail(subject="Texte", body='<script>alert("p")</script>\n<img src=x onerror=alert(1)>\n'
                        '[clic](javascript:alert(4))\n', message_id="<xss-plain@evil.example>"))
    pipe.run()
    with localforum.session() as s:
        cooked = s.scalars(select(Post.cooked).where(NOT_ABOUT)).all()
    assert len(cooked) == 2
    for html_out in cooked:
        assert dangerous(html_out) == [], html_out


def dangerous(html: str) -> list:
    """Live script in HTML: script/iframe/object elements, on* attributes, javascript: URLs
    (escaped text such as ``&lt;script&gt;`` is harmless and allowed)."""
    from html.parser import HTMLParser

    found = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in ("script", "iframe", "object", "embed", "style"):
                found.append(tag)
            for name, value in attrs:
                if name.startswith("on") or (value or "").strip().lower().startswith(("javascript:", "data:text/html")):
                    found.append(f"{tag}[{name}]")

    Finder().feed(html)
    return found


def test_markdown_and_html_in_forum_posts_never_break_the_email(bridge):
    raw = ("<script>alert(1)</script> **gras** <img src=x onerror=alert(1)>\n\n"
           "--==boundary==\nContent-Type: text/html\n\n.\n\nFrom le début\n\n" + "x" * 3000
           + "\n\n```\n<style>body{display:none}</style>\n```\n")
    post = bridge.topic("marie", "Sujet\r\nBcc: victime@example.org", raw)
    bridge.process()
    mails = [m for m in bridge.mails() if str(m["Message-ID"]).startswith(f"<discourse/post/{post['id']}@")]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Bcc"] is None
    assert mail.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = mail.get_body(("html",)).get_content()
    assert dangerous(html) == [], html
    text = mail.get_body(("plain",)).get_content()
    assert "gras" in text


# ---------------------------------------------------------------- access
def test_lmtp_accepts_only_the_list_and_bridge_addresses(tmp_path, sqlite_url, localforum):
    ctx, _ = make_pipe(tmp_path, sqlite_url, localforum)
    server = start_lmtp_server(ctx)
    try:
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            for rcpt in ("victime@gmail.com", "club@listes.example.org.evil.com",
                         "bistro+@forumsync.example.org", "postmaster@listes.example.org"):
                with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                    client.sendmail("a@b.fr", [rcpt], make_mail())
                assert next(iter(refused.value.recipients.values()))[0] == 550
            assert client.sendmail("a@b.fr", ["club@listes.example.org"], make_mail()) == {}
    finally:
        server.stop()
    assert _count(ctx) == 1


def test_inbound_http_requires_its_token_and_webhooks_their_signature(tmp_path, sqlite_url, localforum):
    from forumsync.app import create_app

    ctx, _ = make_pipe(tmp_path, sqlite_url, localforum, INBOUND_TOKEN="jeton-entrant-secret")
    client = create_app(context=ctx).test_client()
    for headers in ({}, {"Authorization": "Bearer faux"}, {"Authorization": "jeton-entrant-secret"}):
        answer = client.post("/inbound/mail", data=make_mail(), headers=headers)
        assert answer.status_code in (401, 403)
    assert _count(ctx) == 0
    ok = client.post("/inbound/mail", data=make_mail(), headers={"Authorization": "Bearer jeton-entrant-secret"})
    assert ok.status_code in (200, 201, 202) and _count(ctx) == 1

    body = json.dumps({"post": {"id": 1}}).encode()
    good = "sha256=" + hmac.new(ctx.settings.FORUM_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    base = {"X-Discourse-Event": "post_created", "X-Discourse-Event-Id": "7",
            "X-Discourse-Instance": ctx.settings.FORUM_URL, "Content-Type": "application/json"}
    for signature in (None, "sha256=" + "0" * 64, good.replace("sha256=", "sha1=")):
        headers = dict(base, **({"X-Discourse-Event-Signature": signature} if signature else {}))
        assert client.post("/webhooks/discourse", data=body, headers=headers).status_code == 401
    signed = dict(base, **{"X-Discourse-Event-Signature": good})
    assert client.post("/webhooks/discourse", data=body, headers=signed).status_code == 200
    replay = client.post("/webhooks/discourse", data=body, headers=signed)
    assert replay.status_code == 200
    from forumsync.models import WebhookEvent

    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 1


# ---------------------------------------------------------------- secrets
SECRETS = dict(SECRET_KEY="cle-secrete-SK-93f1c2", INBOUND_TOKEN="jeton-IT-5d7e81",
               SMTP_USERNAME="bistro", SMTP_PASSWORD="motdepasse-SP-a4c9b0")


def test_secrets_never_appear_in_logs(tmp_path, procs, make_localforum, mail_sink, caplog):
    """A full flow with errors, at DEBUG: LMTP → worker → forum (with 500s), webhooks (good and
    forged), inbound HTTP with a wrong token, SMTP needing auth it cannot get. Neither the
    in-process log records nor the processes' output contain a secret."""
    caplog.set_level(logging.DEBUG)
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides, SMTP_URL=mail_sink.url, **SECRETS)
    secrets = [forum.api_key, forum.webhook_secret, *(v for k, v in SECRETS.items() if k != "SMTP_USERNAME")]
    themes = rig.provision()
    forum.create_user("marie", "marie.dupre@meyzieu.fr", "Marie Dupré")
    forum.set_webhook_url(f"http://127.0.0.1:{rig.web_port}/webhooks/discourse")
    rig.start_serve()
    rig.start_lmtp()
    forum.faults.fail(500, count=3)
    client = rig.client(5, "secrets", concurrency=1)
    assert len(client.result(60)["acked"]) == 5
    rig.wait_drained(5, 60)
    import requests

    web = f"http://127.0.0.1:{rig.web_port}"
    assert requests.post(f"{web}/inbound/mail", data=make_message("secrets", 99)[1],
                         headers={"Authorization": "Bearer mauvais"}, timeout=10).status_code == 401
    assert requests.post(f"{web}/webhooks/discourse", data=b"{}", timeout=10, headers={
        "X-Discourse-Event": "post_created", "X-Discourse-Event-Id": "999",
        "X-Discourse-Event-Signature": "sha256=" + "1" * 64}).status_code == 401
    rig.ctx.forum.as_user("marie").topic_create("Sujet écrit sur le forum", "Bonjour à tous les membres",
                                                themes["sve"])
    forum.wait_webhooks(20)

    def tried():
        with rig.ctx.db.session() as s:
            return s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.attempts >= 1))

    _wait(tried, 60, "the outbox tried to send (and failed on AUTH)")

    def outputs():
        return {p.name: p.output() for p in procs.started}

    # the failed attempt's own log line is in the output (waited for, not slept for), so the
    # secrets are looked for in what the AUTH failure wrote too
    _wait(lambda: any("non remis" in text or "échec définitif" in text
                      for text in outputs().values()), 60, "the outbox's log of the AUTH failure")
    outputs = outputs()
    assert "DEBUG" in "".join(outputs.values())
    for name, text in [*outputs.items(), ("caplog", caplog.text)]:
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {name}"


def test_every_post_route_needs_login_and_csrf(tmp_path, sqlite_url):
    """Every POST endpoint of the web app (found in its URL map, so a new action is covered
    the day it is added) refuses an anonymous caller and a logged-in one without CSRF token;
    only the machine endpoints, guarded by their own secret, are exempt."""
    import re

    from werkzeug.security import generate_password_hash

    from forumsync.app import create_app
    from forumsync.context import Context
    from tests.fixtures.database import make_settings

    machine = {"/webhooks/discourse", "/inbound/mail", "/connexion", "/sso/retour"}
    settings = make_settings(tmp_path, sqlite_url, DASHBOARD_PASSWORD_HASH=generate_password_hash("mdp-club"),
                             FORUM_URL="http://127.0.0.1:9", SMTP_URL="smtp://127.0.0.1:9")
    app = create_app(context=Context(settings))
    app.config["TESTING"] = True
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule in machine or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        routes.append(path)
    assert len(routes) >= 4, routes  # inbox retry/drop, outbox retry/drop at least
    anonymous = app.test_client()
    for path in routes:
        answer = anonymous.post(path)
        assert answer.status_code in (302, 400, 401, 403), (path, answer.status_code)
        if answer.status_code == 302:
            assert "connexion" in answer.headers["Location"]
    client = app.test_client()
    page = client.get("/connexion")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/connexion", data={"password": "mdp-club", "csrf_token": token, "next": "/"}).status_code == 302
    for path in routes:
        assert client.post(path).status_code in (400, 403), path
        assert client.post(path, data={"csrf_token": "faux"}).status_code in (400, 403), path
    # the login form itself needs the token too
    assert app.test_client().post("/connexion", data={"password": "mdp-club"}).status_code in (400, 403)


def test_local_forum_answers_404_not_500_for_absurd_ids(localforum):
    """Found while fuzzing: an id beyond 64 bits made the local forum answer 500 (a transient
    error for forumsync, so the message retried forever) where Discourse answers 404."""
    import requests

    for path in ("/posts/999999999999999999999.json", "/t/999999999999999999999.json"):
        answer = requests.get(localforum.url + path, headers=localforum.headers(), timeout=10)
        assert answer.status_code == 404, path


def _nested(count: int, boundary=b"n%d", embedded=b"") -> bytes:
    return b"From: a@b.fr\nSubject: s\n" + b"".join(
        b'Content-Type: multipart/mixed; boundary="' + boundary % i + b'"\n' + embedded + b"\n--" + boundary % i + b"\n"
        for i in range(count)) + b"Content-Type: text/plain\n\nfond\n"


@pytest.mark.parametrize("raw, refused", [
    (_nested(MAX_MIME_NESTING), False),  # 100 distinct boundaries: the limit itself
    (_nested(MAX_MIME_NESTING + 1), True),
    (_nested(MAX_MIME_NESTING + 1).replace(b"boundary=", b"BoUnDaRy="), True),  # any case
    (_nested(60, b"N%d") + _nested(60, b"n%d"), True),  # boundaries differ by their case: 120
    (_nested(60, embedded=b"Content-Type: MESSAGE/RFC822\n"), True),  # 60 + 60 embedded messages
    # any message/* type is parsed as an embedded message (red team, twelfth pass)
    pytest.param(b"Content-Type: message/x-foo\n\n" * (MAX_MIME_NESTING + 1), True, id="message/x-foo"),
    pytest.param(b"Content-Type: message/partial; id=x\n\n" * (MAX_MIME_NESTING + 1), True, id="message/partial"),
    # "message/rfc822" inside a boundary's value is that boundary, not an embedded message
    (_nested(MAX_MIME_NESTING - 1) + b'Content-Type: multipart/mixed; boundary="message/rfc822"\n', False),
])
def test_mime_nesting_counts_distinct_boundaries_and_embedded_messages(raw, refused):
    from forumsync.inbound.ingest import check_mime_nesting

    if refused:
        with pytest.raises(Refused, match="Structure MIME trop imbriquée"):
            check_mime_nesting(raw)
    else:
        check_mime_nesting(raw)
