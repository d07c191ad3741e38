"""POST /webhooks/discourse: signature, idempotence, malformed input never a 500."""
import json

import requests

import pytest
from sqlalchemy import func, select

from forumsync.app import create_app
from forumsync.forum.webhooks import LAST_RECEIVED_KEY, signature
from forumsync.models import WebhookEvent, get_state

SECRET = "demo-webhook-secret"


@pytest.fixture
def client(context):
    app = create_app(context=context)
    app.testing = True
    return app.test_client()


def post(client, body, *, secret=SECRET, event="post_created", event_id="1", sig=None,
         instance="https://bistro.example.org", extra=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Discourse-Event": event,
               "X-Discourse-Event-Type": event.split("_")[0], "X-Discourse-Event-Id": event_id,
               "X-Discourse-Instance": instance}
    if sig is not False:
        headers["X-Discourse-Event-Signature"] = signature(secret, raw) if sig is None else sig
    headers.update(extra or {})
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.post("/webhooks/discourse", data=raw, headers=headers)


def count(context):
    with context.db.session() as s:
        return s.scalar(select(func.count()).select_from(WebhookEvent))


PAYLOAD = {"post": {"id": 10, "topic_id": 3, "post_number": 1, "raw": "Bonjour", "cooked": "<p>Bonjour</p>"}}


def test_good_signature_stored(client, context):
    answer = post(client, PAYLOAD)
    assert answer.status_code == 200
    assert count(context) == 1
    with context.db.session() as s:
        event = s.scalars(select(WebhookEvent)).one()
        assert event.event == "post_created" and event.event_type == "post"
        assert event.delivery_id == "https://bistro.example.org#1"
        assert json.loads(event.payload) == PAYLOAD and event.state == "new"
        assert get_state(s, LAST_RECEIVED_KEY)["event"] == "post_created"


def test_replayed_changes_nothing(client, context):
    assert post(client, PAYLOAD).status_code == 200
    again = post(client, PAYLOAD)
    assert again.status_code == 200 and again.json["statut"] == "déjà reçu"
    assert count(context) == 1
    # the same id from another forum instance is another delivery
    assert post(client, PAYLOAD, instance="https://autre.example.org").status_code == 200
    assert count(context) == 2


def test_a_retry_under_a_new_delivery_id_is_the_same_event(client, context):
    """emit_web_hook_event.rb: a retry is a new WebHookEvent, hence a new X-Discourse-Event-Id,
    with the body built when the event happened: stored once."""
    edited = {"post": {**PAYLOAD["post"], "version": 2, "updated_at": "2026-12-05T10:00:00Z"}}
    assert post(client, edited, event="post_edited", event_id="41").json["statut"] == "reçu"
    retry = post(client, edited, event="post_edited", event_id="42")
    assert retry.status_code == 200 and retry.json["statut"] == "déjà reçu"
    assert count(context) == 1
    # a later edit of the same post is a new event, even with a reused delivery id elsewhere
    newer = {"post": {**edited["post"], "version": 3, "updated_at": "2026-12-05T10:05:00Z"}}
    assert post(client, newer, event="post_edited", event_id="43").json["statut"] == "reçu"
    # same version and updated_at but another change (moved to another topic): a new event
    moved = {"post": {**newer["post"], "topic_id": 99}}
    assert post(client, moved, event="post_edited", event_id="44").json["statut"] == "reçu"
    assert count(context) == 3
    with context.db.session() as s:
        keys = [e.event_key for e in s.scalars(select(WebhookEvent))]
    assert all(k.startswith("https://bistro.example.org#post_edited:post:10:") for k in keys)


@pytest.mark.parametrize("sig", [False, "", "sha256=" + "0" * 64, "sha1=abc", "n'importe quoi",
                                 "sha256=é" + "0" * 63])
def test_missing_or_bad_signature(client, context, sig):
    answer = post(client, PAYLOAD, sig=sig)
    assert answer.status_code == 401
    assert count(context) == 0


def test_signature_with_wrong_secret(client, context):
    assert post(client, PAYLOAD, secret="autre-secret").status_code == 401
    assert count(context) == 0


def test_signature_covers_the_raw_body(client, context):
    raw = json.dumps(PAYLOAD).encode()
    tampered = raw.replace(b"Bonjour", b"Bonsoir")
    answer = post(client, tampered, sig=signature(SECRET, raw))
    assert answer.status_code == 401 and count(context) == 0


@pytest.mark.parametrize("body", [b"{pas du json", b"", b"[1, 2]", b"\xff\xfe\x00", b'"texte"'])
def test_malformed_json_is_400(client, context, body):
    answer = post(client, body)
    assert answer.status_code == 400
    assert count(context) == 0


@pytest.mark.parametrize("missing", ["X-Discourse-Event", "X-Discourse-Event-Id"])
def test_missing_headers_is_400(client, context, missing):
    answer = post(client, PAYLOAD, extra={missing: None})
    assert answer.status_code == 400 and count(context) == 0


def test_ping(client, context):
    answer = post(client, {"ping": "OK"}, event="ping", event_id="77")
    assert answer.status_code == 200 and count(context) == 0
    with context.db.session() as s:
        assert get_state(s, LAST_RECEIVED_KEY)["event"] == "ping"


def test_wakes_in_process_worker(client, context):
    woken = []
    context.wake_worker = lambda: woken.append(1)
    post(client, PAYLOAD)
    post(client, PAYLOAD)  # replay: nothing new, no wake
    assert woken == [1]


def test_an_empty_webhook_secret_accepts_no_event(tmp_path, db):
    """An HMAC with an empty key proves nothing: with FORUM_WEBHOOK_SECRET empty, even an event
    signed with that empty key is refused (red team, twelfth pass)."""
    from forumsync.context import Context
    from tests.fixtures.database import make_settings

    ctx = Context(make_settings(tmp_path, db.url, FORUM_WEBHOOK_SECRET=""), db=db)
    app = create_app(context=ctx)
    app.testing = True
    answer = post(app.test_client(), PAYLOAD, secret="")
    assert answer.status_code == 401 and "FORUM_WEBHOOK_SECRET" in answer.get_json()["statut"]
    assert count(ctx) == 0


# Red team, 25th pass: a signed post_created whose post.id is not a positive integer ended
# « failed » with a Python error (« abc », [1]) or was read as another post (N + 0.5).
IDS = {"texte": "abc", "liste": [1], "objet": {"id": 1}}


@pytest.mark.parametrize("name", list(IDS))
def test_non_integer_post_id_gets_a_clear_answer(sqlite_bridge, name):
    b = sqlite_bridge
    if _send_signed(b, {"post": {"id": IDS[name], "topic_id": 1}}, f"id-{name}") == 400:
        return  # refused at receipt: a clear answer too
    b.process()
    assert b.mails() == []
    [event] = [e for e in b.events() if e.delivery_id.endswith(f"#id-{name}")]
    assert event.state == "skipped", (event.state, event.reason)
    assert "Error" not in event.reason and "int()" not in event.reason, event.reason


def _send_signed(b, payload, event_id):
    body = json.dumps(payload).encode()
    answer = requests.post(f"{b.web_url}/webhooks/discourse", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Discourse-Event": "post_created",
        "X-Discourse-Event-Type": "post", "X-Discourse-Event-Id": event_id,
        "X-Discourse-Instance": b.forum.url,
        "X-Discourse-Event-Signature": signature(b.settings.FORUM_WEBHOOK_SECRET, body)})
    assert answer.status_code in (200, 400), answer.text
    return answer.status_code


def test_a_decimal_post_id_is_not_read_as_another_post(sqlite_bridge):
    """{"id": N + 0.5} is handled as post N (int() truncates): recorded « done », « déjà dans
    la file d'envoi », about a post the payload did not name."""
    b = sqlite_bridge
    first = b.topic("marie", "Sujet au numéro entier", "Premier message public du sujet.")
    b.process()
    if _send_signed(b, {"post": {"id": first["id"] + 0.5}}, "id-decimal") == 400:
        return
    b.process()
    assert len(b.mails()) == 1
    [event] = [e for e in b.events() if e.delivery_id.endswith("#id-decimal")]
    assert event.state == "skipped", (event.state, event.reason)
