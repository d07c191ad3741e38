"""Red team, twenty-second pass: since the twenty-first pass an operator's drop of a row that may be on the
forum (state retry, attempts ≥ 1) leaves the copies held behind it, « for the operator to
retry by hand ». The CLI says so (``forumsync inbox drop``); the dashboard does not. Its
« Écarter » button only flashes « Message N écarté. », and a copy held in state ``dropped``
(same sender as the first copy) is not among the dashboard's failures (``stats.inbox_failures``
lists quarantined and retry rows only): the genuine mail is held for ever, with no trace and
no button on the dashboard.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from werkzeug.security import generate_password_hash

from forumsync.app import create_app
from forumsync.inbound.copies import COPY_HELD
from forumsync.models import InboxMessage
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
MID = "<CAF+rt22-dash@mail.meyzieu.fr>"


def _marie(body: str) -> bytes:
    return make_mail("Question SVE", body, sender=MARIE, message_id=MID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=meyzieu.fr"})


def test_the_dashboard_shows_the_copy_its_drop_left_held(tmp_path, sqlite_url, localforum):
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    service = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV,
                      DASHBOARD_PASSWORD_HASH=generate_password_hash("demo"))
    try:
        first = service.pipe.feed(_marie("Texte de Marie\n"), channel="lmtp")
        # the forum is down: the attempt fails, the row waits for a retry (attempts = 1)
        with service.ctx.db.session() as s:
            row = s.get(InboxMessage, first)
            row.state, row.attempts, row.reason = "retry", 1, "forum injoignable"
            row.next_attempt_at = datetime.now(timezone.utc) + timedelta(hours=1)
        copy = service.pipe.feed(_marie("Texte de Marie, corrigé\n"), channel="lmtp")
        with service.ctx.db.session() as s:
            held = s.get(InboxMessage, copy)
            assert held.state == "dropped" and held.reason.startswith(COPY_HELD)

        client = create_app(context=service.ctx).test_client()
        page = client.get("/connexion")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/connexion", data={"password": "demo", "csrf_token": token})
        home = client.get("/").text
        assert f'data-inbox-id="{first}"' in home
        token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
        client.post(f"/boite-de-reception/{first}/ecarter", data={"csrf_token": token})
        home = client.get("/").text

        with service.ctx.db.session() as s:
            assert s.get(InboxMessage, first).state == "dropped"
            assert s.get(InboxMessage, copy).reason.startswith(COPY_HELD)  # still held
        assert f'data-inbox-id="{copy}"' in home, "the held copy is not listed: no way out from it"
        assert "restent retenues" in home  # the drop said why the copy stays held
    finally:
        service.close()
