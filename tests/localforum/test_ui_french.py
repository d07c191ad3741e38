"""The local forum's HTML pages relay refusals in French (the API keeps Discourse's English)."""
import html
import re

import requests

from forumsync.localforum.errors import NOT_PERMITTED
from forumsync.localforum.ui_french import french


def test_refusals_shown_in_french(localforum):
    localforum.create_user("alice", "alice@example.org", "Alice")
    category = localforum.create_category("SVE")
    # Discourse's default min_topic_title_length (15) applies
    session = requests.Session()
    short = session.post(f"{localforum.url}/ui/c/{category['id']}/new", timeout=10,
                         data={"username": "alice", "title": "Court", "raw": "Bonjour à tous les membres"})
    text = html.unescape(short.text)
    # « Court »: 5 distinct letters, under title_min_entropy (10) too (TextSentinel)
    assert ("Action refusée : titre trop court (15 caractères au moins) ; titre peu lisible "
            "(trop peu de lettres différentes).") in text
    created = session.post(f"{localforum.url}/ui/c/{category['id']}/new", timeout=10,
                           data={"username": "alice", "title": "Une question sur la SVE",
                                 "raw": "Bonjour, une question sur la SVE."})
    topic_id = int(re.search(r"/ui/t/(\d+)", created.url).group(1))
    refused = session.post(f"{localforum.url}/ui/t/{topic_id}/status", timeout=10,
                           data={"username": "alice", "status": "closed", "enabled": "true"})
    text = html.unescape(refused.text)
    assert "Action refusée : vous n'avez pas le droit de faire cela" in text
    assert NOT_PERMITTED not in text
    # the API itself still answers like Discourse
    api = requests.put(f"{localforum.url}/t/{topic_id}/status.json", timeout=10,
                       headers=localforum.headers("alice"), data={"status": "closed", "enabled": "true"})
    assert api.status_code == 403 and api.json()["errors"] == [NOT_PERMITTED]


def test_unknown_texts_are_kept():
    assert french("Body is too short (minimum is 20 characters)") == "message trop court (20 caractères au moins)"
    assert french("Quelque chose d'autre") == "Quelque chose d'autre"
