"""Issue 12.7 — the dashboard attacked through the real service (werkzeug on loopback, HTTP with
requests, and a real headless Chromium where a browser is what the attacker relies on):
password guessing, a copied session cookie after logout, cookie flags behind https, framing,
a cross-site form, and the French error pages (404, 413, 500, CSRF 400)."""
from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from forumsync.app import create_app
from forumsync.context import Context
from forumsync.models import OutboxMail, StateValue
from forumsync.web import throttle
from tests.fixtures.database import make_settings

PASSWORD = "Tr3s-s3cret-du-club"
ENGLISH = ("Not Found", "Internal Server Error", "Bad Request", "Request Entity Too Large",
           "Content Too Large", "The requested URL", "Werkzeug")


def _settings(tmp_path, sqlite_url, **overrides):
    values = dict(DASHBOARD_PASSWORD_HASH=generate_password_hash(PASSWORD),
                  FORUM_URL="http://127.0.0.1:9", LMTP_LISTEN="127.0.0.1:9",
                  SMTP_URL="smtp://127.0.0.1:9", WEB_URL="http://127.0.0.1:5099")
    values.update(overrides)
    return make_settings(tmp_path, sqlite_url, **values)


@pytest.fixture
def site(tmp_path, sqlite_url, serve_app):
    """The web app served on a loopback port; returns (url, ctx, sqlite path)."""
    ctx = Context(_settings(tmp_path, sqlite_url))
    with ctx.db.session() as s:
        s.add(OutboxMail(key="welcome:1", message_id="w@x", sender="bistro@forumsync.example.org",
                         recipients=["marie@meyzieu.fr"], raw=b"Subject: x\r\n\r\nx", subject="x",
                         state="failed", attempts=12, last_error="550"))
    server = serve_app(create_app(context=ctx))
    yield server.url, ctx, sqlite_url[len("sqlite:///"):]
    ctx.close()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(http: requests.Session, url: str, password=PASSWORD) -> requests.Response:
    page = http.get(url + "/connexion", timeout=10)
    return http.post(url + "/connexion", data={"password": password, "csrf_token": _csrf(page.text),
                                               "next": "/"}, allow_redirects=False, timeout=30)


def _attempts(ctx) -> int:
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(StateValue)
                        .where(StateValue.key.startswith(throttle.PREFIX)))


# ------------------------------------------------------------------------------ guessing
def test_password_guessing_is_throttled_in_french_and_durably(site, tmp_path, sqlite_url, serve_app):
    url, ctx, _ = site
    http = requests.Session()
    for _ in range(throttle.MAX_ATTEMPTS):
        assert _login(http, url, "mauvais").status_code == 401
    blocked = _login(http, url, "encore-mauvais")
    assert blocked.status_code == 429
    assert "Trop de tentatives de connexion" in blocked.text and "réessayez dans 15 minutes" in blocked.text
    assert 0 < int(blocked.headers["Retry-After"]) <= throttle.WINDOW.total_seconds()
    # the right password does not get through either: the attacker learns nothing
    right = _login(http, url)
    assert right.status_code == 429 and "sid" not in right.headers.get("Set-Cookie", "")
    assert http.get(url + "/", allow_redirects=False).status_code == 302
    # a restart (a new process on the same database) does not wipe the count
    restarted = serve_app(create_app(context=Context(ctx.settings)))
    assert _login(requests.Session(), restarted.url).status_code == 429


def test_sixty_parallel_guesses_check_at_most_the_limit(site):
    """The attack of the issue (60 wrong passwords in 13 s), all at once: at most MAX_ATTEMPTS
    passwords are even compared."""
    url, ctx, _ = site

    def guess(n):
        http = requests.Session()
        page = http.get(url + "/connexion", timeout=30)
        return http.post(url + "/connexion", data={"password": f"essai-{n}", "csrf_token": _csrf(page.text)},
                         allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(guess, range(60)))
    assert set(codes) <= {401, 429}
    assert codes.count(401) <= throttle.MAX_ATTEMPTS
    assert codes.count(429) >= 60 - throttle.MAX_ATTEMPTS
    assert _attempts(ctx) <= throttle.MAX_ATTEMPTS


def test_a_successful_login_starts_the_count_afresh(site):
    url, ctx, _ = site
    http = requests.Session()
    for _ in range(throttle.MAX_ATTEMPTS - 1):
        assert _login(http, url, "faute de frappe").status_code == 401
    assert _login(http, url).status_code == 302
    assert _attempts(ctx) == 0


# ------------------------------------------------------------------------------ sessions
def test_copied_cookie_stops_working_after_logout(site, chromium):
    """The owner logs in and out in the browser; a copy of the cookie taken while logged in
    (stolen, or left on a shared computer) is refused afterwards."""
    url, _, _ = site
    owner = chromium.new_context(locale="fr-FR")
    page = owner.new_page()
    page.goto(url + "/connexion")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    stolen = [dict(c) for c in owner.cookies()]
    assert stolen and all(c["httpOnly"] and c["sameSite"] == "Lax" for c in stolen)
    thief = chromium.new_context(locale="fr-FR")
    thief.add_cookies(stolen)
    other = thief.new_page()
    other.goto(url + "/")
    assert other.url == url + "/"  # the copy works while the owner is logged in
    page.click("text=Se déconnecter")
    page.wait_for_url(re.compile(r".*/connexion.*"))
    other.goto(url + "/")
    assert "/connexion" in other.url and other.locator("#password").is_visible()
    # and the copy cannot act either (its CSRF token is still in the cookie)
    http = requests.Session()
    for cookie in stolen:
        http.cookies.set(cookie["name"], cookie["value"])
    home = http.get(url + "/", allow_redirects=False)
    assert home.status_code == 302 and "/connexion" in home.headers["Location"]
    owner.close()
    thief.close()


def test_cookie_flags_behind_https(tmp_path, sqlite_url, serve_app):
    ctx = Context(_settings(tmp_path, sqlite_url, WEB_URL="https://passerelle.example.org"))
    server = serve_app(create_app(context=ctx))
    # served here over plain http, so the browser-like client never sends the cookie back:
    # what matters is what the server sets (the login page already stores the CSRF token)
    answer = requests.get(server.url + "/connexion", timeout=30)
    assert answer.status_code == 200
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    ctx.close()


def test_no_secure_flag_on_plain_http_loopback(site):
    url, _, _ = site
    cookie = _login(requests.Session(), url).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie


# ------------------------------------------------------------------------------ headers, framing
def test_security_headers_on_every_page(site):
    url, _, _ = site
    http = requests.Session()
    _login(http, url)
    for path in ("/connexion", "/", "/nulle-part", "/healthz"):
        headers = http.get(url + path, timeout=30).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src" not in csp  # no script at all (default-src 'none')
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert http.get(url + "/", timeout=30).headers["Cache-Control"] == "no-store"


@pytest.fixture
def attacker(serve_app):
    """Pages of another origin (another port) that frame the dashboard or post to it."""
    def make(target):
        app = Flask("attacker")

        @app.get("/cadre")
        def frame():
            return f'<html><body><iframe id="f" src="{target}/connexion"></iframe></body></html>'

        @app.get("/formulaire")
        def form():
            return (f'<html><body><form id="f" method="post" action="{target}/envois/1/ecarter">'
                    f'<input type="hidden" name="x" value="1"></form>'
                    f'<script>document.getElementById("f").submit()</script></body></html>')

        return serve_app(app)

    return make


def test_dashboard_cannot_be_framed(site, attacker, browser_page):
    url, _, _ = site
    evil = attacker(url)
    page = browser_page
    page.goto(evil.url + "/cadre")
    page.wait_for_timeout(500)
    [framed] = [f for f in page.frames if f is not page.main_frame]
    assert "Connexion au tableau de bord" not in framed.content()
    assert not framed.url.startswith(url)  # Chromium replaced it with its error page


def test_cross_site_form_gets_the_french_csrf_page_and_changes_nothing(site, attacker, browser_page):
    url, ctx, _ = site
    page = browser_page
    page.goto(url + "/connexion")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    evil = attacker(url)
    page.goto(evil.url + "/formulaire")
    page.wait_for_url(url + "/envois/1/ecarter")
    body = page.locator("body").inner_text()
    assert "Jeton de sécurité (CSRF) absent ou invalide" in body and "erreur 400" in body
    assert not any(word in body for word in ENGLISH)
    with ctx.db.session() as s:
        assert s.scalar(select(OutboxMail.state).where(OutboxMail.key == "welcome:1")) == "failed"


# ------------------------------------------------------------------------------ error pages
def test_404_page_in_french_in_the_browser(site, browser_page):
    url, _, _ = site
    page = browser_page
    answer = page.goto(url + "/page-qui-n-existe-pas")
    assert answer.status == 404
    assert page.locator("html").get_attribute("lang") == "fr"
    body = page.locator("body").inner_text()
    assert "Page introuvable" in body and "Retour au tableau de bord" in body
    assert not any(word in body for word in ENGLISH)


def test_413_page_in_french(tmp_path, sqlite_url, serve_app):
    ctx = Context(_settings(tmp_path, sqlite_url, MAX_MESSAGE_BYTES=1000))
    server = serve_app(create_app(context=ctx))
    http = requests.Session()
    page = http.get(server.url + "/connexion")
    answer = http.post(server.url + "/connexion", timeout=30,
                       data={"password": "x" * 200_000, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 413
    assert "Envoi trop volumineux" in answer.text
    assert not any(word in answer.text for word in ENGLISH)
    ctx.close()


def test_500_page_in_french_tells_nothing_of_the_failure(site, caplog):
    url, _, path = site
    http = requests.Session()
    _login(http, url)
    with sqlite3.connect(path) as db:  # the database breaks under the running service
        db.execute("DROP TABLE outbox_mail")
    answer = http.get(url + "/", timeout=30)
    assert answer.status_code == 500
    assert "Erreur interne" in answer.text and "enregistrée" in answer.text
    for leak in ("outbox_mail", "OperationalError", "sqlite", "Traceback", *ENGLISH):
        assert leak not in answer.text
    assert "Content-Security-Policy" in answer.headers


def test_csrf_400_in_french_over_http(site):
    url, _, _ = site
    http = requests.Session()
    _login(http, url)
    answer = http.post(url + "/envois/1/reessayer", data={"csrf_token": "faux"}, timeout=30)
    assert answer.status_code == 400
    assert "Jeton de sécurité (CSRF) absent ou invalide" in answer.text
    assert not any(word in answer.text for word in ENGLISH)


def test_machine_endpoints_answer_errors_in_french_json(site):
    url, _, _ = site
    answer = requests.get(url + "/webhooks/inconnu", timeout=30)
    assert answer.status_code == 404
    assert answer.json() == {"error": 404, "titre": "Page introuvable",
                             "message": "Cette adresse ne correspond à aucune page de forumsync."}


def test_dashboard_renders_under_its_policy(site, browser_page):
    """The policy must not break the dashboard itself: no CSP violation while it renders."""
    url, _, _ = site
    page = browser_page
    reports = []
    page.on("console", lambda message: reports.append(message.text))
    page.goto(url + "/connexion")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    assert page.locator("h1").first.is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"
    assert not [r for r in reports if "Content Security Policy" in r], reports


class _FromAddress(requests.adapters.HTTPAdapter):
    """Requests sent from another loopback address (127.0.0.N), as an attacker rotating
    addresses would."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_rotating_addresses_gains_nothing(site):
    """Red team: 10 addresses × 5 guesses each used to get 50 passwords compared. Everyone
    together gets MAX_ATTEMPTS_ALL, whatever the addresses."""
    url, ctx, _ = site
    compared = 0
    for n in range(2, 12):
        http = requests.Session()
        http.mount("http://", _FromAddress(f"127.0.0.{n}"))
        for _ in range(throttle.MAX_ATTEMPTS):
            code = _login(http, url, f"essai-{n}").status_code
            assert code in (401, 429)
            compared += code == 401
    assert compared == throttle.MAX_ATTEMPTS_ALL
    assert _login(requests.Session(), url, "encore").status_code == 429


@pytest.mark.parametrize("client, same_as", [
    ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"),      # one /64: one machine
    ("::ffff:192.0.2.7", "192.0.2.7"),                 # an IPv4-mapped address is that IPv4
])
def test_one_network_is_one_budget(client, same_as):
    assert throttle.client_network(client) == throttle.client_network(same_as)
    assert throttle.client_network("2001:db8:1:3::1") != throttle.client_network("2001:db8:1:2::1")
    assert throttle.client_network("192.0.2.8") != throttle.client_network("192.0.2.7")
