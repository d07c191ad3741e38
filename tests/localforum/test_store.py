"""Store helpers other areas build on (the plugin endpoints, fixtures)."""
import pytest

from forumsync.localforum import parsing as lf_parsing, posts as lf_posts, users as lf_users
from forumsync.localforum.errors import ApiError


def test_staged_user_for_email_creates_once(localforum):
    with localforum.session() as s:
        user = lf_users.staged_user_for_email(s, "Jean.Dupont@Mairie.fr", "Jean Dupont")
        assert user.staged and not user.active and user.username == "Jean_Dupont"
        again = lf_users.staged_user_for_email(s, "jean.dupont@mairie.fr")
        assert again.id == user.id


def test_staged_user_can_post_only_through_trusted_callers(localforum):
    category = localforum.create_category("Club")
    with localforum.session() as s:
        user = lf_users.staged_user_for_email(s, "x@example.org")
        with pytest.raises(ApiError) as error:
            lf_posts.create_post(s, user, "Message d'un intermédiaire.", title="Sujet d'un intermédiaire",
                              category_id=category["id"])
        assert error.value.status == 403
        post = lf_posts.create_post(s, user, "Message venu de la liste", title="Depuis la liste du club",
                                 category_id=category["id"], check_permissions=False)
        assert post.post_number == 1 and post.user.staged


def test_slugify():
    assert lf_parsing.slugify("Été à Lyon : SVE !") == "ete-a-lyon-sve"
    assert lf_parsing.slugify("???") == "topic"


def test_unique_username(localforum):
    localforum.create_user("marie", "marie@example.org")
    with localforum.session() as s:
        assert lf_users.unique_username(s, "marie") == "marie2"
        assert lf_users.unique_username(s, "é") == "e1"


def test_reply_to_unknown_post_number_is_dropped(localforum):
    category = localforum.create_category("Club")
    client = localforum.client()
    first = client.create_post("Premier message du sujet.", category_id=category["id"],
                               title="Sujet à une réponse")
    reply = client.create_post("Réponse à un message absent.", topic_id=first["topic_id"], reply_to_post_number=99)
    assert reply["reply_to_post_number"] is None
