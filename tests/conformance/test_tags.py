"""Tags as Discourse reads them (issue 13.11): forumsync sends tag objects, never names as strings.

Discourse's TopicsController#resolve_tag_names and PostsController#create_params take
``[{"id": …}, {"name": …}]``; names as strings are deprecated since 2026.01 (to be dropped from
2026.07) and log a deprecation. The local forum reads ``tags`` the same way
(forumsync/localforum/tag_params.py) and logs the same deprecation, which these tests watch.
"""
import logging

import pytest

from forumsync.forum.gateway import ForumGateway
from forumsync.localforum.tag_params import DEPRECATION
from tests.localforum.openapi import SpecClient

LOGGER = "forumsync.localforum.tag_params"


@pytest.fixture
def gateway(localforum):
    return ForumGateway(localforum.url, localforum.api_key, localforum.username, timeout=30,
                        retries=1, backoff=0.01)


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


@pytest.fixture
def category(localforum):
    return localforum.create_category("Catalogue des démarches", slug="catalogue")


def deprecations(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and DEPRECATION in r.getMessage()]


def tag_names_of(api, topic_id) -> list[str]:
    return sorted(t["name"] for t in api.get(f"/t/{topic_id}.json").json()["tags"])


def test_gateway_sends_tag_objects_on_create_and_update(gateway, api, category, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    post = gateway.topic_create("Déclaration de naissance en ligne", "Une démarche du catalogue, "
                                "publiée avec ses étiquettes.", category["id"], tags=["naissance", "état-civil"])
    assert tag_names_of(api, post["topic_id"]) == ["naissance", "état-civil"]
    gateway.topic_update(post["topic_id"], tags=["naissance", "retiree"])
    assert tag_names_of(api, post["topic_id"]) == ["naissance", "retiree"]
    gateway.topic_update(post["topic_id"], tags=[])  # an empty list clears them, as in Discourse
    assert tag_names_of(api, post["topic_id"]) == []
    assert deprecations(caplog) == []  # no name sent as a string


def test_names_as_strings_still_work_but_are_deprecated(api, category, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    created = api.post("/posts.json", json={"title": "Une démarche étiquetée à l'ancienne",
                                            "raw": "Étiquettes envoyées comme des noms.",
                                            "category": category["id"], "tags": ["sve"]})
    assert created.status_code == 200, created.text
    assert tag_names_of(api, created.json()["topic_id"]) == ["sve"]
    assert len(deprecations(caplog)) == 1
    updated = api.put(f"/t/-/{created.json()['topic_id']}.json", json={"tags": ["famille"]}, spec=False)
    assert updated.status_code == 200, updated.text
    assert tag_names_of(api, created.json()["topic_id"]) == ["famille"]
    assert len(deprecations(caplog)) == 2


def test_objects_by_id_name_an_existing_tag_and_unknown_ids_are_dropped(api, category, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    first = api.post("/posts.json", json={"title": "Première démarche avec étiquette",
                                          "raw": "Une étiquette créée par son nom.",
                                          "category": category["id"], "tags": [{"name": "urbanisme"}]})
    assert first.status_code == 200, first.text
    tag_id = next(t["id"] for t in api.get("/tags.json").json()["tags"] if t["name"] == "urbanisme")
    # an id wins over a name given beside it; an id naming no tag is dropped (Tag.where(id:))
    second = api.post("/posts.json", json={"title": "Seconde démarche par identifiant",
                                           "raw": "Étiquettes données par identifiant.",
                                           "category": category["id"],
                                           "tags": [{"id": tag_id, "name": "ignoré"}, {"id": 999999},
                                                    {"name": "voirie"}]})
    assert second.status_code == 200, second.text
    assert tag_names_of(api, second.json()["topic_id"]) == ["urbanisme", "voirie"]
    assert deprecations(caplog) == []


def test_a_list_mixing_objects_and_other_values_is_refused(api, category):
    response = api.post("/posts.json", json={"title": "Démarche aux étiquettes mal formées",
                                             "raw": "Une liste d'étiquettes incohérente.",
                                             "category": category["id"], "tags": [{"name": "sve"}, 3]})
    assert response.status_code == 400
    assert response.json()["error_type"] == "invalid_parameters"
    assert "Démarche aux étiquettes" not in str(api.get("/latest.json").json())
