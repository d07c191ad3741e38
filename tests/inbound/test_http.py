"""POST /inbound/mail: bearer token, size and content checks, 202 once stored."""
import threading

import pytest
import requests
from werkzeug.serving import make_server
from sqlalchemy import func, select

from forumsync.app import create_app
from forumsync.context import Context
from forumsync.models import InboxMessage
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import make_mail

TOKEN = "jeton-de-test-1234"


@pytest.fixture
def http_ctx(tmp_path, db_url, db):
    return Context(make_settings(tmp_path, db_url, INBOUND_TOKEN=TOKEN, MAX_MESSAGE_BYTES=5000), db=db)


@pytest.fixture
def client(http_ctx):
    return create_app(context=http_ctx).test_client()


def post(client, data, token=TOKEN, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/inbound/mail", data=data, headers=headers, content_type="message/rfc822")


def stored(ctx):
    with ctx.db.session() as s:
        return s.scalar(select(func.count(InboxMessage.id)))


def test_stores_and_answers_202(client, http_ctx):
    response = post(client, make_mail(message_id="<h1@x.org>"))
    assert response.status_code == 202
    body = response.get_json()
    assert body["stored"] is True and body["duplicate"] is False and body["message_id"] == "h1@x.org"
    with http_ctx.db.session() as s:
        assert s.get(InboxMessage, body["inbox_id"]).channel == "http"
    again = post(client, make_mail(message_id="<h1@x.org>"))
    assert again.status_code == 202 and again.get_json()["duplicate"] is True
    assert stored(http_ctx) == 1


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer mauvais-jeton"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer "},
    {"Authorization": TOKEN},
    {"Authorization": f"Bearer {TOKEN}x"},
])
def test_token_required(client, http_ctx, headers):
    response = client.post("/inbound/mail", data=make_mail(), headers=headers)
    assert response.status_code == 401
    assert "Jeton" in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored(http_ctx) == 0


def test_too_large_is_413(client, http_ctx):
    response = post(client, make_mail(body="x" * 6000))
    assert response.status_code == 413
    assert "trop volumineux" in response.get_json()["message"]
    assert stored(http_ctx) == 0


def test_too_large_chunked_upload_is_413_over_real_http(http_ctx):
    """No Content-Length to trust: the body is read with a bound (real server, chunked upload)."""
    server = make_server("127.0.0.1", 0, create_app(context=http_ctx), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/inbound/mail"
        chunks = iter([make_mail(), b"x" * 3000, b"x" * 3000])
        response = requests.post(url, data=chunks, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert response.status_code == 413 and response.json()["error"] == "too_big"
        ok = requests.post(url, data=iter([make_mail(message_id="<c@x>")]),
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert ok.status_code == 202 and ok.json()["message_id"] == "c@x"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert stored(http_ctx) == 1


@pytest.mark.parametrize("data, error", [(b"", "empty"), (b"<html>pas un courriel</html>", "not_mail")])
def test_not_mail_is_400(client, http_ctx, data, error):
    response = post(client, data)
    assert response.status_code == 400
    assert response.get_json()["error"] == error and response.get_json()["stored"] is False
    assert stored(http_ctx) == 0


def test_storage_failure_is_503(tmp_path):
    from forumsync.db import Database

    empty_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    unmigrated = Database(empty_url)  # no tables: every insert fails
    ctx = Context(make_settings(tmp_path, empty_url, INBOUND_TOKEN=TOKEN), db=unmigrated)
    response = post(create_app(context=ctx).test_client(), make_mail())
    assert response.status_code == 503 and "réessayez" in response.get_json()["message"]
    unmigrated.dispose()
