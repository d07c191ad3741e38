"""The gateway's one cache of forum facts (forum/facts.py), against the local forum over HTTP."""
import pytest

from forumsync.forum import facts as facts_module
from forumsync.forum.gateway import ForumGateway, ForumUnavailable


@pytest.fixture
def gateway(localforum):
    return ForumGateway(localforum.url, localforum.api_key, localforum.username, timeout=30,
                        retries=0, backoff=0.01)


def test_category_list_is_read_once_and_refreshed_at_most_every_few_seconds(gateway, localforum,
                                                                             monkeypatch):
    localforum.create_category("Club", slug="club")
    assert "club" in {c["slug"] for c in gateway.facts.categories()}
    before = gateway.stats["GET"]
    localforum.create_category("Nouveau", slug="nouveau")
    assert "nouveau" not in {c["slug"] for c in gateway.facts.categories(refresh=True)}
    assert gateway.facts.category_by_slug("nouveau") is None  # the list is too young to re-read
    assert gateway.stats["GET"] == before
    monkeypatch.setattr(facts_module, "LIST_REFRESH_SECONDS", 0.0)
    found = gateway.facts.category_by_slug("nouveau")
    assert found is not None and found["slug"] == "nouveau"
    assert gateway.stats["GET"] > before


def test_category_by_slug_tells_parents_apart(gateway, localforum):
    one = localforum.create_category("Un", slug="un")
    two = localforum.create_category("Deux", slug="deux")
    child = localforum.create_category("Agenda", slug="agenda", parent=one["id"])
    localforum.create_category("Agenda", slug="agenda-2", parent=two["id"])
    assert gateway.facts.category_by_slug("agenda", parent_category_id=one["id"])["id"] == child["id"]
    assert gateway.facts.category_by_slug("agenda") is None  # not a top-level category
    assert gateway.facts.category_by_id(child["id"])["parent_category_id"] == one["id"]
    assert gateway.facts.category_by_id(None) is None


def test_clones_share_the_facts_read_through_the_gateway_that_made_them(gateway, localforum):
    localforum.create_user("lea", "lea@meyzieu.fr", "Léa")
    staff_only = localforum.create_category("Bureau", slug="bureau", permissions={"staff": 1})
    lea = gateway.as_user("lea")
    assert lea.facts is gateway.facts
    assert staff_only["id"] in {c["id"] for c in lea.facts.categories()}  # the admin's view
    before = gateway.stats["GET"]
    gateway.facts.categories()
    assert gateway.stats["GET"] == before


def test_a_category_written_through_the_gateway_drops_the_cached_list(gateway):
    assert "sve" not in {c["slug"] for c in gateway.facts.categories()}
    created = gateway.category_create("SVE", slug="sve")
    assert gateway.facts.category_by_id(created["id"])["slug"] == "sve"
    gateway.category_update(created["id"], name="SVE et saisine")
    assert gateway.facts.category_by_id(created["id"])["name"] == "SVE et saisine"


def test_category_shown_is_kept_unless_fresh_and_none_when_hidden(gateway, localforum):
    localforum.create_user("lea", "lea@meyzieu.fr", "Léa")
    public = localforum.create_category("Club", slug="club")
    hidden = localforum.create_category("Bureau", slug="bureau", permissions={"staff": 1})
    lea = ForumGateway(localforum.url, localforum.api_key, "lea", retries=0)
    assert lea.facts.category_shown(hidden["id"]) is None
    before = lea.stats["GET"]
    assert lea.facts.category_shown(hidden["id"]) is None  # the refusal is remembered too
    assert lea.facts.category_shown(public["id"])["slug"] == "club"
    assert lea.facts.category_shown(public["id"])["slug"] == "club"
    assert lea.stats["GET"] == before + 1
    lea.facts.category_shown(public["id"], fresh=True)
    assert lea.stats["GET"] == before + 2
    lea.facts.invalidate_categories()
    lea.facts.category_shown(public["id"])
    assert lea.stats["GET"] == before + 3


def test_an_unavailable_forum_is_not_remembered(gateway, localforum):
    category = localforum.create_category("Club", slug="club")
    localforum.faults.fail(502, count=1)
    with pytest.raises(ForumUnavailable):
        gateway.facts.category_shown(category["id"])
    assert gateway.facts.category_shown(category["id"])["slug"] == "club"


def test_remembered_facts_live_their_time_then_are_computed_again(gateway, monkeypatch):
    calls = []

    def compute(gateway):
        calls.append(gateway.api_username)
        return len(calls)

    assert gateway.facts.remember("leads", 60.0, compute) == 1
    assert gateway.as_user("lea").facts.remember("leads", 60.0, compute) == 1
    assert gateway.facts.remember("leads", 0.0, compute) == 2  # older than 0 s
    gateway.facts.forget("leads")
    assert gateway.facts.remember("leads", 60.0, compute) == 3
    gateway.facts.forget("leads")
    assert gateway.as_user("lea").facts.remember("leads", 60.0, compute) == 4
    assert set(calls) == {gateway.api_username}  # always the configured account, never a clone


def test_capabilities_are_asked_once_for_the_gateway_and_its_clones(gateway):
    clone = gateway.as_user("lea")
    caps = clone.capabilities()
    before = gateway.stats["GET"]
    assert gateway.capabilities() is caps
    assert gateway.has_feature("staged_posts") and not gateway.has_feature("teleportation")
    assert gateway.stats["GET"] == before
