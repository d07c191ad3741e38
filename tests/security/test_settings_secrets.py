"""Issue 12.8 — secrets and settings, through the real commands (``forumsync`` in a process of
its own), the real web service and real HTTP servers: what check-settings prints, what serve
and worker refuse, what a catalogue source and the HTTP inbound channel let through."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from flask import Flask, redirect
from sqlalchemy import func, select

from forumsync.app import create_app
from forumsync.catalogue.sources import SourceError
from forumsync.catalogue.sources.wcs_api import WcsApiSource
from forumsync.context import Context
from forumsync.models import InboxMessage
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import make_mail

FORUMSYNC = Path(sys.executable).with_name("forumsync")
DB_PASSWORD = "mot-de-passe-de-la-base-7Qz"
STRONG = dict(SECRET_KEY="cle-de-session-solide-8271", INBOUND_TOKEN="jeton-entrant-solide-1933",
              FORUM_WEBHOOK_SECRET="secret-webhook-solide-4411", FORUM_API_KEY="cle-api-solide-5520")


def _settings_file(tmp_path, **values) -> Path:
    values.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'forumsync.sqlite3'}")
    path = tmp_path / "reglages.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    return path


def _run(settings: Path, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(FORUMSYNC), "--settings", str(settings), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=settings.parent)


# ------------------------------------------------------------------------------ check-settings
def test_check_settings_masks_secrets_and_url_passwords_but_not_durations(tmp_path):
    settings = _settings_file(
        tmp_path, DATABASE_URL=f"postgresql://forumsync:{DB_PASSWORD}@db.example.org:5432/forumsync",
        SMTP_URL="smtps://127.0.0.1:465", SMTP_PASSWORD="smtp-secret-99", REPLY_TOKEN_MAX_AGE_DAYS=45,
        CATALOGUE_SOURCES=[{"name": "meyzieu", "collectivity": "Meyzieu", "type": "wcs-api",
                            "url": "https://demarches.meyzieu.fr", "orig": "bistro",
                            "key": "cle-wcs-secrete-31"}],
        **STRONG)
    result = _run(settings, "check-settings")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for secret in (DB_PASSWORD, "smtp-secret-99", "cle-wcs-secrete-31", *STRONG.values()):
        assert secret not in out
    assert "DATABASE_URL = 'postgresql://forumsync:********@db.example.org:5432/forumsync'" in out
    assert "REPLY_TOKEN_MAX_AGE_DAYS = 45" in out  # a duration, not a secret
    assert "SECRET_KEY = '********'" in out and "SMTP_PASSWORD = '********'" in out
    assert "'url': 'https://demarches.meyzieu.fr'" in out and "'key': '********'" in out


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://demarches.meyzieu.fr/", "gopher://x/",
                                 "demarches.meyzieu.fr", "http:///sans-hote"])
def test_check_settings_refuses_non_http_source_urls(tmp_path, url):
    settings = _settings_file(tmp_path, CATALOGUE_SOURCES=[
        {"name": "piege", "collectivity": "Piège", "type": "wcs-api", "url": url, "orig": "o", "key": "k"}])
    result = _run(settings, "check-settings")
    assert result.returncode != 0
    assert "CATALOGUE_SOURCES[0].url doit être une URL http(s)://hôte" in result.stderr
    assert "Traceback" not in result.stderr and "k'" not in result.stdout


# ------------------------------------------------------------------------------ demo secrets
@pytest.mark.parametrize("command", [("serve", "--no-worker"), ("worker", "--once")])
@pytest.mark.parametrize("exposed", ["FORUM_URL", "WEB_URL"])
def test_services_refuse_demo_secrets_off_the_loopback(tmp_path, command, exposed):
    url = {"FORUM_URL": "https://bistro.example.org", "WEB_URL": "https://passerelle.example.org"}[exposed]
    settings = _settings_file(tmp_path, **{exposed: url})
    result = _run(settings, *command)
    assert result.returncode != 0
    err = result.stderr
    assert err.startswith("Erreur : refus de démarrer") and "SECRET_KEY" in err and "INBOUND_TOKEN" in err
    assert f"{exposed} = {url}" in err and "Traceback" not in err
    assert not (tmp_path / "forumsync.sqlite3").exists()  # refused before opening anything


def test_one_demo_secret_left_is_enough_to_refuse(tmp_path):
    values = dict(STRONG, SECRET_KEY="change-me-demo-secret")
    settings = _settings_file(tmp_path, FORUM_URL="https://bistro.example.org", **values)
    result = _run(settings, "worker", "--once")
    assert result.returncode != 0 and "SECRET_KEY garde sa valeur de démonstration" in result.stderr


def test_worker_starts_with_demo_secrets_on_the_loopback_or_real_secrets_anywhere(tmp_path):
    loopback = _settings_file(tmp_path, FORUM_URL="http://localhost:1", WEB_URL="http://[::1]:5999")
    assert _run(loopback, "worker", "--once").returncode == 0
    real = _settings_file(tmp_path, FORUM_URL="https://bistro.example.org",
                          WEB_URL="https://passerelle.example.org", **STRONG)
    result = _run(real, "worker", "--once")
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------ wcs-api source
SECRET_BODY = "CONTENU-INTERNE-CONFIDENTIEL-42"


@pytest.fixture
def internal(serve_app):
    """An internal service that must never be reached nor quoted."""
    app = Flask("interne")
    app.hits = []

    @app.route("/<path:path>")
    def anything(path):
        app.hits.append(path)
        return {"err": 1, "err_desc": SECRET_BODY, "data": SECRET_BODY}

    return serve_app(app), app


def _wcs(serve_app, answer):
    app = Flask("wcs-piege")
    app.add_url_rule("/<path:path>", "any", answer)
    return serve_app(app)


def _source(url):
    return WcsApiSource({"name": "piege", "collectivity": "Piège", "type": "wcs-api", "url": url,
                         "orig": "bistro", "key": "cle"})


def test_wcs_api_source_follows_no_redirect(serve_app, internal, caplog):
    inside, inside_app = internal
    evil = _wcs(serve_app, lambda path: redirect(f"{inside.url}/admin/{path}", 302))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as refused:
        _source(evil.url).fetch()
    assert "redirection refusée (HTTP 302)" in str(refused.value)
    assert inside_app.hits == []
    assert SECRET_BODY not in str(refused.value) and inside.url not in str(refused.value)
    assert SECRET_BODY not in caplog.text


@pytest.mark.parametrize("status", [403, 500, 200])
def test_wcs_api_errors_never_quote_the_answer(serve_app, status, caplog):
    evil = _wcs(serve_app, lambda path: ({"err": 1, "err_desc": SECRET_BODY}, status))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as refused:
        _source(evil.url).fetch()
    assert SECRET_BODY not in str(refused.value) and SECRET_BODY not in caplog.text


# ------------------------------------------------------------------------------ HTTP inbound
TOKEN = "jeton-entrant-du-test"


@pytest.fixture
def inbound(tmp_path, sqlite_url, serve_app):
    ctx = Context(make_settings(tmp_path, sqlite_url, INBOUND_TOKEN=TOKEN))
    server = serve_app(create_app(context=ctx))

    def post(raw, **params):
        return requests.post(f"{server.url}/inbound/mail", data=raw, params=params, timeout=30,
                             headers={"Authorization": f"Bearer {TOKEN}",
                                      "Content-Type": "message/rfc822"})

    def stored():
        with ctx.db.session() as s:
            return s.scalar(select(func.count(InboxMessage.id)))

    yield post, stored
    ctx.close()


def test_http_inbound_refuses_mail_not_addressed_to_us(inbound):
    post, stored = inbound
    for raw, params in (
            (make_mail(to="direction@mairie-exemple.fr"), {}),
            (make_mail(to="Club <club@listes.example.org.evil.fr>, bistro@autre.example"), {}),
            (make_mail(to="club@listes.example.org"), {"recipient": "direction@mairie-exemple.fr"})):
        answer = post(raw, **params)
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["stored"] is False and body["error"] == "not_for_list"
        assert "adressé" in body["message"] or "Destinataire inconnu" in body["message"]
    assert stored() == 0


@pytest.mark.parametrize("raw, params", [
    (make_mail(to="club@listes.example.org"), {}),
    (make_mail(to="Quelqu'un <autre@example.org>", extra_headers={"Cc": "Club@Listes.Example.org"}), {}),
    (make_mail(to="autre@example.org", extra_headers={"Delivered-To": "club@listes.example.org"}), {}),
    (make_mail(to="bistro+abc123@forumsync.example.org"), {}),  # a signed reply address
    (make_mail(to="sve@listes.example.org"), {}),  # a theme address
    (make_mail(to="autre@example.org"), {"recipient": "club@listes.example.org"}),
    (make_mail(to="undisclosed-recipients:;",
               extra_headers={"List-Post": "<mailto:club@listes.example.org>"}), {"channel": "mailman"}),
])
def test_http_inbound_accepts_mail_for_the_list_or_the_bridge(inbound, raw, params):
    post, stored = inbound
    answer = post(raw, **params)
    assert answer.status_code == 202, answer.text
    assert stored() == 1
