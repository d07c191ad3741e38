"""Senders Discourse can stage are posted as themselves, end to end (issue 13, plugin 3): the
mails that used to end on the bridge account (a name cut on a hyphen, a generic address) now
get a staged user of their own; a refused address is still refused with its reason."""
import pytest

from forumsync.localforum import users as lf_users
from tests.fixtures.pipeline import make_mail


@pytest.mark.parametrize("sender, username", [
    ("Jean-Pierre-Marie de La Tour-d'Auvergne <jp.latour@mairie-exemple.fr>", "Jean-Pierre-Marie_de"),
    ("<jean-christophe-mar-antoine@ville-exemple.fr>", "jean-christophe-mar"),
    ("Mairie <contact@mairie-exemple.fr>", "Mairie"),
    ("Élodie Müller-Straße <e.muller@ville-exemple.fr>", "Elodie_Muller-Strass"),
])
def test_sender_is_staged_never_the_bridge(pipe, sender, username):
    row = pipe.send(make_mail("Question d'un agent", sender=sender))
    post = pipe.post(row.post_id)
    assert post["username"] == username
    assert post["username"] != pipe.ctx.settings.FORUM_API_USERNAME
    assert "transmis depuis la liste" not in post["raw"]
    with pipe.localforum.session() as session:
        email = sender.rsplit("<", 1)[1].rstrip(">")
        assert lf_users.user_by_email(session, email).staged is True
