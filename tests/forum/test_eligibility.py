"""The eligibility rule on its own: audience of categories fails closed, theme lookup."""
import pytest

from forumsync.forum.eligibility import Facts, category_is_public, decide, theme_of

PARENT = {"id": 1, "name": "Club Publik", "slug": "club-publik", "read_restricted": False}
SVE = {"id": 2, "name": "SVE", "slug": "sve", "parent_category_id": 1, "read_restricted": False}


@pytest.fixture
def conf(tmp_path):
    from tests.fixtures.database import make_settings

    return make_settings(tmp_path, "sqlite://")


def facts(**post):
    base = {"id": 5, "post_number": 2, "post_type": 1, "username": "marie", "raw": "Bonjour"}
    base.update(post)
    return Facts(post=base, topic={"archetype": "regular", "title": "T"}, categories=[SVE, PARENT])


@pytest.mark.parametrize("category, public", [
    ({"read_restricted": False}, True),
    ({"read_restricted": True}, False),
    ({"group_permissions": [{"group_name": "everyone", "permission_type": 1}]}, True),
    ({"group_permissions": [{"group_name": "staff", "permission_type": 1}]}, False),
    ({}, False),  # nothing known about its audience: never sent
])
def test_category_audience_fails_closed(category, public):
    assert category_is_public(category) is public


def test_theme_by_slug_name_or_custom_field(conf):
    assert theme_of(conf, [SVE, PARENT])["slug"] == "sve"
    renamed = dict(SVE, slug="saisine", name="Saisine")
    assert theme_of(conf, [renamed, PARENT]) is None
    tagged = dict(renamed, custom_fields={"forumsync_theme": "sve"})
    assert theme_of(conf, [tagged, PARENT])["slug"] == "sve"
    sub = {"id": 3, "name": "AR", "slug": "ar", "parent_category_id": 2, "read_restricted": False}
    assert theme_of(conf, [sub, SVE, PARENT])["slug"] == "sve"
    elsewhere = dict(PARENT, name="Autre parent")
    assert theme_of(conf, [SVE, elsewhere]) is None


def test_verdicts(conf):
    assert decide(conf, facts())[0] is True
    assert decide(conf, facts(post_type=4)) == (False, "murmure (visible de l'équipe seulement)")
    assert decide(conf, facts(post_type=3))[0] is False
    assert decide(conf, facts(hidden=True))[1] == "message masqué"
    assert decide(conf, facts(deleted_at="2026-01-01T00:00:00Z"))[1] == "message supprimé"
    assert decide(conf, facts(via_email=True))[0] is False
    assert decide(conf, facts(username="system"))[0] is False
    assert decide(conf, facts(raw="x\n<!-- forumsync 0123 -->"))[0] is False
    pm = facts()
    pm.topic["archetype"] = "private_message"
    assert "privé" in decide(conf, pm)[1]
    listed = facts()
    listed.from_list = True
    assert decide(conf, listed)[0] is False
    restricted_parent = facts()
    restricted_parent.categories = [SVE, dict(PARENT, read_restricted=True)]
    assert "restreint" in decide(conf, restricted_parent)[1]
    none = facts()
    none.categories = []
    assert decide(conf, none)[0] is False


def test_topic_whose_nature_the_forum_did_not_state_is_never_sent(conf):
    """The archetype comes from the forum's topic; missing or unknown, the answer is no."""
    unknown = facts()
    del unknown.topic["archetype"]
    unknown.post["topic_archetype"] = "regular"  # a payload's word is not the forum's
    assert decide(conf, unknown) == (False, "nature du sujet inconnue (« ? ») : jamais relayée")
    banner = facts()
    banner.topic["archetype"] = "banner"
    assert decide(conf, banner)[0] is False


def test_forum_replies_in_a_topic_opened_by_the_list_go_to_the_list(conf):
    """The live topic of a list thread carries external_id ml-…: only its opening post came
    from the list; a member's reply written on the forum is the forum's own."""
    reply = facts(post_number=2)
    reply.topic["external_id"] = "ml-0123456789abcdef"
    assert decide(conf, reply)[0] is True
    opening = facts(post_number=1)
    opening.topic["external_id"] = "ml-0123456789abcdef"
    assert decide(conf, opening) == (False, "sujet venu de la liste (external_id ml-…)")


def test_reply_in_an_unlisted_topic_is_not_mailed(sqlite_bridge):
    """Red team, 25th pass: a topic a moderator unlisted (« Ne plus lister ») still sent its
    replies to the whole list; Discourse serves the flag as ``visible`` (TopicViewSerializer)."""
    b = sqlite_bridge
    first = b.topic("marie", "Sujet bientôt non listé", "Premier message public du sujet.")
    b.process()
    assert len(b.mails()) == 1
    b.gateway().topic_status_set(first["topic_id"], "visible", False)  # « Ne plus lister »
    reply = b.reply("paul", first["topic_id"], "Réponse dans un sujet non listé.")
    b.process()
    assert [m["Subject"] for m in b.mails()] == ["Sujet bientôt non listé"]
    event = b.event_for(reply["id"])
    assert event.state == "skipped", (event.state, event.reason)
