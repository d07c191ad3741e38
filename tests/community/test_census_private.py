"""The business-software census is never mirrored to the list: real webhooks from the local
forum reach forumsync's web app, the event task and the outbox run, the SMTP sink counts."""
import pytest

from forumsync.community import directory
from forumsync.community.common import CENSUS_CATEGORY
from tests.community import forumdb
from tests.community.test_directory import COLLECTIVITIES
from tests.fixtures.outbound import Bridge


@pytest.fixture
def env(tmp_path, sqlite_url, make_localforum, smtp_sink):
    bridge = Bridge(tmp_path, sqlite_url, make_localforum, smtp_sink, COLLECTIVITIES=COLLECTIVITIES)
    # the members group: the census category created by forumsync is readable by it only
    bridge.forum.create_group("membres", usernames=["marie", "paul"])
    yield bridge
    bridge.close()


def test_census_posts_never_reach_the_list(env, tmp_path, sqlite_url):
    # a fresh forum: forumsync creates its own census category (members only)
    env.ctx.forum.category_update(env.categories["restricted"]["id"], name="Ancien recensement")
    report = directory.sync_directory(env.ctx)
    assert len(report.created) == 5
    census = forumdb.category(env.forum, CENSUS_CATEGORY)
    assert census["permissions"] == {"membres": 1}
    env.process()
    assert env.sink.messages == []  # forumsync's own topics: nothing to the list

    census_topic = forumdb.topics(env.forum, CENSUS_CATEGORY)[0]
    # a member adds a line to the census, and opens a new census topic: never mirrored
    env.reply("marie", census_topic["id"], "Nous utilisons aussi Ciril RH depuis janvier.")
    env.gateway("paul").topic_create("Grand Lyon : logiciels de la petite enfance",
                                     "Concerto pour les crèches, iNoé pour le périscolaire.", census["id"])
    env.process()
    assert env.sink.messages == []
    skipped = [e for e in env.events() if e.event == "post_created"]
    assert skipped and all(e.state in ("done", "skipped") for e in skipped)
    assert any("accès restreint" in e.reason for e in skipped)

    # the same member writing in a theme category does reach the list (the test can fail)
    env.topic("marie", "Accusés de réception SVE : vos délais ?", "Quels délais affichez-vous ?")
    env.process()
    assert len(env.sink.messages) == 1
    assert "Accusés de réception SVE" in env.mails()[0]["Subject"]
