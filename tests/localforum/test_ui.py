"""The French HTML interface, driven through real HTTP form posts."""
import re

import requests


def test_pages_and_forms(localforum):
    localforum.create_user("alice", "alice@example.org", "Alice")
    parent = localforum.create_category("Club Publik")
    child = localforum.create_category("SVE", parent=parent["id"])
    other = localforum.create_category("Autre")
    session = requests.Session()
    home = session.get(localforum.url + "/", timeout=10)
    assert home.status_code == 200 and 'lang="fr"' in home.text
    assert "Catégories" in home.text and "SVE" in home.text
    created = session.post(f"{localforum.url}/ui/c/{child['id']}/new", timeout=10,
                           data={"username": "alice", "title": "Question sur la SVE", "raw": "**Bonjour** à tous les membres"})
    assert created.status_code == 200
    topic_id = int(re.search(r"/ui/t/(\d+)", created.url).group(1))
    assert "<strong>Bonjour</strong>" in created.text
    replied = session.post(f"{localforum.url}/ui/t/{topic_id}/reply", timeout=10,
                           data={"username": "system", "raw": "Réponse du staff du forum"})
    assert "Réponse du staff du forum" in replied.text
    refused = session.post(f"{localforum.url}/ui/t/{topic_id}/status", timeout=10,
                           data={"username": "alice", "status": "closed", "enabled": "true"})
    assert "Action refusée" in refused.text
    closed = session.post(f"{localforum.url}/ui/t/{topic_id}/status", timeout=10,
                          data={"username": "system", "status": "closed", "enabled": "true"})
    assert "Rouvrir" in closed.text
    session.post(f"{localforum.url}/ui/t/{topic_id}/status", timeout=10,
                 data={"username": "system", "status": "pinned", "enabled": "true"})
    session.post(f"{localforum.url}/ui/t/{topic_id}/move", timeout=10,
                 data={"username": "system", "category_id": other["id"]})
    view = localforum.client().topic("x", topic_id)
    assert view["closed"] and view["pinned"] and view["category_id"] == other["id"]
    listing = session.get(f"{localforum.url}/ui/c/{other['id']}", timeout=10)
    assert "Question sur la SVE" in listing.text and "épinglé" in listing.text
    assert session.get(f"{localforum.url}/ui/t/9999", timeout=10).status_code == 404
    css = session.get(localforum.url + "/static/localforum/forum.css", timeout=10)
    assert css.status_code == 200
