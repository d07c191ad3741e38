"""Dashboard login, sessions, CSRF and DiscourseConnect, with Flask's test client."""
import base64
import hashlib
import hmac
import logging
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from werkzeug.security import generate_password_hash

from forumsync.app import create_app
from forumsync.context import Context
from forumsync.db import Database
from forumsync.models import InboxMessage, OutboxMail
from tests.fixtures.database import make_settings

PASSWORD = "Tr3s-s3cret-du-club"
SSO_SECRET = "sso-secret-partage-avec-le-forum"


@pytest.fixture
def web(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url,
                             DASHBOARD_PASSWORD_HASH=generate_password_hash(PASSWORD),
                             DISCOURSE_CONNECT_SECRET=SSO_SECRET,
                             FORUM_URL="http://127.0.0.1:9", WEB_URL="http://127.0.0.1:5099",
                             LMTP_LISTEN="127.0.0.1:9", SMTP_URL="smtp://127.0.0.1:9")
    database = Database(sqlite_url)
    database.migrate()
    ctx = Context(settings, db=database)
    app = create_app(context=ctx)
    app.config["TESTING"] = True
    yield app, ctx
    database.dispose()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "pas de jeton CSRF dans la page"
    return match.group(1)


def login(client, password=PASSWORD):
    page = client.get("/connexion")
    return client.post("/connexion", data={"password": password, "csrf_token": csrf_from(page.text),
                                           "next": "/"})


def test_anonymous_requests_are_redirected_to_login(web):
    app, _ = web
    client = app.test_client()
    for path in ("/", "/?x=1"):
        response = client.get(path)
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/connexion"
    for path in ("/boite-de-reception/1/reessayer", "/envois/1/ecarter"):
        # POST without a session: refused before anything changes (CSRF first, then login)
        assert client.post(path).status_code in (302, 400)


def test_password_login_and_logout(web):
    app, _ = web
    client = app.test_client()
    page = client.get("/connexion")
    assert "Connexion au tableau de bord" in page.text
    assert "Mode démo" not in page.text  # a hash is configured
    bad = client.post("/connexion", data={"password": "demo", "csrf_token": csrf_from(page.text)})
    assert bad.status_code == 401 and "Mot de passe incorrect" in bad.text
    assert client.get("/").status_code == 302
    ok = login(client)
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert PASSWORD not in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "État de santé" in home.text
    out = client.post("/deconnexion", data={"csrf_token": csrf_from(home.text)})
    assert out.status_code == 302
    assert client.get("/").status_code == 302


def test_no_password_configured_refuses_password_login(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url, FORUM_URL="http://127.0.0.1:9",
                             LMTP_LISTEN="127.0.0.1:9", SMTP_URL="smtp://127.0.0.1:9")
    app = create_app(context=Context(settings))
    client = app.test_client()
    page = client.get("/connexion")
    assert "Aucun mot de passe n'est configuré" in page.text
    for attempt in ("demo", "", "admin"):
        login(client, attempt)
        assert client.get("/").status_code == 302  # still sent to the login page


def test_next_parameter_never_leaves_the_site(web):
    app, _ = web
    client = app.test_client()
    page = client.get("/connexion")
    response = client.post("/connexion", data={"password": PASSWORD, "csrf_token": csrf_from(page.text),
                                                "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_login_post_requires_csrf(web):
    app, _ = web
    client = app.test_client()
    client.get("/connexion")
    response = client.post("/connexion", data={"password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def seed(ctx):
    with ctx.db.session() as session:
        msg = InboxMessage(message_id="quarantaine@example.org", channel="lmtp", raw=b"Subject: x\r\n\r\nx",
                           subject="Un message cassé", sender="agent@meyzieu.fr", state="quarantined",
                           reason="ValueError('charset inconnu')")
        mail = OutboxMail(key="post:1", message_id="m1@x", sender="bistro@forumsync.example.org",
                          recipients=["club@listes.example.org"], raw=b"x", subject="Réponse",
                          state="failed", last_error="550 refusé")
        session.add_all([msg, mail])
        session.flush()
        return msg.id, mail.id


def state_of(ctx, model, row_id):
    with ctx.db.session() as session:
        return session.get(model, row_id).state


def test_actions_require_a_valid_csrf_token(web):
    app, ctx = web
    msg_id, mail_id = seed(ctx)
    client = app.test_client()
    login(client)
    home = client.get("/")
    assert "Un message cassé" in home.text and "charset inconnu" in home.text
    token = csrf_from(home.text)
    for path in (f"/boite-de-reception/{msg_id}/reessayer", f"/boite-de-reception/{msg_id}/ecarter",
                 f"/envois/{mail_id}/reessayer", f"/envois/{mail_id}/ecarter"):
        assert client.post(path).status_code == 400
        assert client.post(path, data={"csrf_token": token[:-2] + "xx"}).status_code == 400
    assert state_of(ctx, InboxMessage, msg_id) == "quarantined"
    assert state_of(ctx, OutboxMail, mail_id) == "failed"
    # a GET cannot change anything either
    assert client.get(f"/boite-de-reception/{msg_id}/reessayer").status_code == 405

    assert client.post(f"/boite-de-reception/{msg_id}/reessayer", data={"csrf_token": token}).status_code == 302
    assert state_of(ctx, InboxMessage, msg_id) == "new"
    assert client.post(f"/boite-de-reception/{msg_id}/ecarter", data={"csrf_token": token}).status_code == 302
    assert state_of(ctx, InboxMessage, msg_id) == "dropped"
    assert client.post(f"/envois/{mail_id}/reessayer", data={"csrf_token": token}).status_code == 302
    assert state_of(ctx, OutboxMail, mail_id) == "pending"
    assert client.post(f"/envois/{mail_id}/ecarter", data={"csrf_token": token}).status_code == 302
    assert state_of(ctx, OutboxMail, mail_id) == "dropped"


def test_csrf_token_of_another_session_is_refused(web):
    app, ctx = web
    msg_id, _ = seed(ctx)
    alice, mallory = app.test_client(), app.test_client()
    login(alice)
    login(mallory)
    mallory_token = csrf_from(mallory.get("/").text)
    response = alice.post(f"/boite-de-reception/{msg_id}/reessayer", data={"csrf_token": mallory_token})
    assert response.status_code == 400
    assert state_of(ctx, InboxMessage, msg_id) == "quarantined"


# ------------------------------------------------------------------------------ DiscourseConnect
def forum_answer(nonce, secret=SSO_SECRET, **fields):
    """What the forum sends back: base64 payload and its HMAC-SHA256 signature."""
    values = {"nonce": nonce, "external_id": "7", "username": "animatrice", "email": "a@meyzieu.fr",
              "admin": "true", "moderator": "false"}
    values.update(fields)
    payload = base64.b64encode(urlencode(values).encode()).decode()
    sig = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return payload, sig


def start_sso(client):
    response = client.get("/sso")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == "http://127.0.0.1:9"
    assert location.path == "/session/sso_provider"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    expected_sig = hmac.new(SSO_SECRET.encode(), query["sso"].encode(), hashlib.sha256).hexdigest()
    assert query["sig"] == expected_sig
    inner = {k: v[0] for k, v in parse_qs(base64.b64decode(query["sso"]).decode()).items()}
    assert inner["return_sso_url"] == "http://127.0.0.1:5099/sso/retour"
    assert len(inner["nonce"]) >= 16
    return inner["nonce"]


def test_sso_login_with_a_signed_payload(web):
    app, _ = web
    client = app.test_client()
    assert "compte du forum" in client.get("/connexion").text
    nonce = start_sso(client)
    payload, sig = forum_answer(nonce)
    response = client.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig}))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "animatrice" in home.text
    # the nonce is single use: replaying the same answer in a new session fails
    other = app.test_client()
    start_sso(other)
    assert other.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig})).status_code == 403


def test_a_replayed_sso_answer_with_the_cookie_from_before_is_refused(web):
    """Red team, eleventh pass: the nonce lived only in the (client-held, signed) cookie: the
    forum's answer replayed with a copy of the cookie taken before the login logged in
    again, for 10 minutes. Its record on the server is consumed by the first use."""
    app, _ = web
    client = app.test_client()
    nonce = start_sso(client)
    cookie = client.get_cookie("session").value  # what a thief copies before the login
    payload, sig = forum_answer(nonce)
    assert client.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig})).status_code == 302
    client.post("/deconnexion", data={"csrf_token": csrf_from(client.get("/").text)})
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    response = thief.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig}))
    assert response.status_code == 403 and "déjà utilisé" in response.text
    assert thief.get("/").status_code == 302


@pytest.mark.parametrize("case", ["bad-sig", "other-secret", "wrong-nonce", "not-staff", "no-start"])
def test_sso_refusals(web, case):
    app, _ = web
    client = app.test_client()
    nonce = start_sso(client) if case != "no-start" else "0" * 32
    if case == "bad-sig":
        payload, sig = forum_answer(nonce)
        sig = "0" * 64
    elif case == "other-secret":
        payload, sig = forum_answer(nonce, secret="pas-le-bon")
    elif case == "wrong-nonce":
        payload, sig = forum_answer("f" * 32)
    elif case == "not-staff":
        payload, sig = forum_answer(nonce, admin="false", moderator="false")
    else:
        payload, sig = forum_answer(nonce)
    response = client.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig}))
    assert response.status_code == 403
    assert "Connexion par le forum refusée" in response.text
    assert client.get("/").status_code == 302


def test_secrets_never_logged(web, caplog):
    app, _ = web
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    page = client.get("/connexion")
    client.post("/connexion", data={"password": "mauvais-" + PASSWORD, "csrf_token": csrf_from(page.text)})
    login(client)
    nonce = start_sso(client)
    payload, sig = forum_answer(nonce)
    client.get("/sso/retour?" + urlencode({"sso": payload, "sig": sig}))
    client.get("/")
    text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "connexion" in text  # the events are logged…
    for secret in (PASSWORD, SSO_SECRET, sig, payload, nonce, app.config["SECRET_KEY"]):
        assert secret not in text  # …but never the secrets


def test_retrying_a_copy_beside_a_live_one_says_why_it_is_refused(web):
    """A copy of a Message-ID is not retried while another may still be published (red team,
    twentieth and twenty-first passes): the dashboard says so, not just « ne peut pas »."""
    app, ctx = web
    with ctx.db.session() as session:
        first = InboxMessage(message_id="m@meyzieu.fr", channel="lmtp", raw=b"Subject: x\r\n\r\nvrai",
                             subject="AG", sender="marie@meyzieu.fr", state="retry", meta={"copies": 1})
        session.add(first)
        session.flush()
        copy = InboxMessage(message_id=f"<copie {first.id}> abc", channel="lmtp", raw=b"Subject: x\r\n\r\nfaux",
                            subject="AG", sender="pirate@evil.example", state="quarantined",
                            reason="autre copie du message n° …", meta={"copy_of": first.id, "message_id": "m@meyzieu.fr"})
        session.add(copy)
        session.flush()
        copy_id = copy.id
    client = app.test_client()
    login(client)
    token = csrf_from(client.get("/").text)
    page = client.post(f"/boite-de-reception/{copy_id}/reessayer", data={"csrf_token": token}, follow_redirects=True)
    assert "une autre copie du même Message-ID peut encore être publiée" in page.text
    assert state_of(ctx, InboxMessage, copy_id) == "quarantined"
