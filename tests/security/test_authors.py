"""Issue 12.2: nobody posts as someone else by writing their address in From.

The list MTA's Authentication-Results (authserv-id ``AUTHSERV_ID``) decide: a failed DMARC
is quarantined (nothing posted under any name, reason in `forumsync inbox list`); without a
verdict a staff address (admin, moderator) never gets its account — the bridge posts it,
marked « adresse non vérifiée »; a pass maps to the account. Headers of other servers are
the attacker's own writing and count for nothing. Names that look like a member's carry the
mark too."""
from __future__ import annotations

import pytest

from forumsync.localforum.models import User
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service, bridge_service, service  # noqa: F401 - fixtures

AUTHSERV = "mx.listes.example.org"
ADMIN = "chef@club-publik.fr"


def _ar(result, domain, authserv=AUTHSERV, method="dmarc"):
    prop = {"dmarc": "header.from", "dkim": "header.d", "spf": "smtp.mailfrom"}[method]
    return f"{authserv}; {method}={result} {prop}={domain}"


@pytest.fixture
def checked(tmp_path, sqlite_url, localforum):
    """The service with AUTHSERV_ID set, an admin, a moderator and a member on the forum."""
    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("chef", ADMIN, "Chef du Club", admin=True)
    localforum.create_user("modo", "modo@club-publik.fr", "Modératrice", moderator=True)
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    yield env
    env.close()


def _poster(env, row):
    post = env.post(row.post_id)
    with env.forum.session() as s:
        user = s.get(User, post.user_id)
        return user.username, user.name, post.raw


@pytest.mark.parametrize("sender", [f"Chef <{ADMIN}>", "Chef <CHEF@Club-Publik.FR>",
                                    "chef@club-publik.fr", "Modo <Modo@club-publik.fr>"])
def test_forged_staff_from_without_verdict_is_not_their_account(checked, sender):
    row = checked.deliver(make_mail("Annonce officielle", "Changez vos mots de passe ici.\n", sender=sender))
    assert row.state == "published", row.reason
    username, _, raw = _poster(checked, row)
    assert username == checked.ctx.settings.FORUM_API_USERNAME
    assert raw.splitlines()[0].startswith("*Message de ") and "(adresse non vérifiée)" in raw.splitlines()[0]


def test_other_servers_authentication_results_count_for_nothing(checked):
    headers = {"Authentication-Results": _ar("pass", "club-publik.fr", authserv="mx.evil.example")}
    row = checked.deliver(make_mail("Annonce", "Texte\n", sender=f"Chef <{ADMIN}>", extra_headers=headers))
    assert _poster(checked, row)[0] == checked.ctx.settings.FORUM_API_USERNAME
    # nor does an authserv-id that only differs in case or has a suffix
    for fake in (AUTHSERV.upper(), AUTHSERV + ".evil.example"):
        row = checked.deliver(make_mail(f"Annonce de {fake}", "Texte\n", sender=f"Chef <{ADMIN}>",
                                        extra_headers={"Authentication-Results": _ar("pass", "club-publik.fr", fake)}))
        assert _poster(checked, row)[0] == checked.ctx.settings.FORUM_API_USERNAME


def test_dmarc_pass_maps_to_the_staff_account(checked):
    headers = {"Authentication-Results": _ar("pass", "club-publik.fr")}
    row = checked.deliver(make_mail("Annonce vérifiée", "Texte\n", sender=f"Chef <{ADMIN}>", extra_headers=headers))
    assert row.state == "published", row.reason
    username, _, raw = _poster(checked, row)
    assert username == "chef" and "non vérifiée" not in raw


@pytest.mark.parametrize("result", [("dmarc", "fail"), ("dkim", "fail"), ("spf", "fail")])
def test_failed_authentication_is_quarantined_and_posts_nothing(checked, result):
    method, verdict = result
    domain = ADMIN.split("@")[1] if method != "spf" else ADMIN
    headers = {"Authentication-Results": _ar(verdict, domain, method=method)}
    posts_before = len(checked.posts())
    row = checked.deliver(make_mail("Annonce piégée", "Cliquez ici\n", sender=f"Chef <{ADMIN}>",
                                    extra_headers=headers))
    assert row.state == "quarantined"
    assert "non authentifié" in row.reason and ADMIN in row.reason
    assert len(checked.posts()) == posts_before
    listing = checked.inbox_list()
    assert "non authentifié" in listing and str(row.id) in listing
    assert ADMIN in checked.inbox_show(row.id)
    with checked.ctx.db.session() as s:  # nothing lost: the raw mail is kept for the operator
        from forumsync.models import InboxMessage

        assert b"Cliquez ici" in s.get(InboxMessage, row.id).raw


def test_a_pass_does_not_outweigh_a_fail(checked):
    """Several headers of our MTA (one per milter): one failure is enough, like Discourse."""
    msg = make_mail("Annonce", "Texte\n", sender=f"Chef <{ADMIN}>",
                    extra_headers={"Authentication-Results": _ar("pass", "club-publik.fr")})
    msg = f"Authentication-Results: {_ar('fail', 'club-publik.fr')}\n".encode() + msg
    row = checked.deliver(msg)
    assert row.state == "quarantined"


def test_from_with_several_addresses_maps_to_no_account(checked):
    headers = {"Authentication-Results": _ar("pass", "club-publik.fr")}
    row = checked.deliver(make_mail("Annonce", "Texte\n", extra_headers=headers,
                                    sender=f"Chef <{ADMIN}>, Pirate <pirate@evil.example>"))
    assert row.state == "published", row.reason
    username, _, raw = _poster(checked, row)
    assert username == checked.ctx.settings.FORUM_API_USERNAME
    assert "(adresse non vérifiée)" in raw.splitlines()[0]


@pytest.mark.parametrize("header", ["Reply-To", "X-Original-From"])
def test_dmarc_munged_mail_naming_someone_else(checked, header):
    """Mailman's "via" munging: the real author is recovered from Reply-To / X-Original-From;
    when our MTA authenticated another domain, the claim is refuted: quarantine."""
    headers = {header: f"Chef <{ADMIN}>", "Authentication-Results": _ar("pass", "evil.example")}
    row = checked.deliver(make_mail("Annonce", "Texte\n", extra_headers=headers,
                                    sender="Chef via Club Publik <club@listes.example.org>"))
    assert row.state == "quarantined"
    assert "evil.example" in row.reason
    # with no verdict at all it is not the admin's account either
    row = checked.deliver(make_mail("Annonce 2", "Texte\n", extra_headers={header: f"Chef <{ADMIN}>"},
                                    sender="Chef via Club Publik <club@listes.example.org>"))
    assert row.state == "published" and _poster(checked, row)[0] == checked.ctx.settings.FORUM_API_USERNAME


def test_dmarc_munged_mail_authenticated_for_its_author(checked):
    headers = {"Reply-To": f"Chef <{ADMIN}>", "Authentication-Results": _ar("pass", "club-publik.fr")}
    row = checked.deliver(make_mail("Annonce", "Texte\n", extra_headers=headers,
                                    sender="Chef via Club Publik <club@listes.example.org>"))
    assert _poster(checked, row)[0] == "chef"


def test_member_without_verdict_keeps_their_account(checked):
    """Documented rule (Discourse's "gray" verdict is accepted): a non-staff member's own
    address without a verdict still posts under their account."""
    row = checked.deliver(make_mail("Question", "Texte\n", sender="Marie Dupont <marie.dupont@meyzieu.fr>"))
    assert _poster(checked, row)[0] == "marie"


@pytest.mark.parametrize("sender", [
    "Маrie Dupont <marie.dupont@meyzieu-mairie.example>",     # Cyrillic М
    "Marie Dupont <marie.dupont@evil.example>",               # the very name, another address
    "MARIE DUPÓNT <m.d@evil.example>",                        # case and accents
    "<mаrie.dupont@meyzieu.fr>",                              # Cyrillic а in the address, no name
])
def test_look_alike_names_are_marked(checked, sender):
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender=sender))
    assert row.state == "published", row.reason
    username, name, raw = _poster(checked, row)
    assert username != "marie"
    if username == checked.ctx.settings.FORUM_API_USERNAME:  # the plugin refused to stage it
        assert "(adresse non vérifiée)" in raw.splitlines()[0], raw
    else:
        assert name.endswith("(adresse non vérifiée)"), name


def test_look_alike_names_are_marked_in_attribution_lines(bridge_service):
    bridge_service.forum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    row = bridge_service.deliver(make_mail("Bonjour", "Texte\n", sender="Маrie Dupont <md@evil.example>"))
    first = bridge_service.post(row.post_id).raw.splitlines()[0]
    assert "(adresse non vérifiée)" in first


def test_unrelated_names_are_not_marked(checked):
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender="Anne Roux <anne.roux@ville-exemple.fr>"))
    assert _poster(checked, row)[1] == "Anne Roux"


def test_without_authserv_id_staff_is_never_mapped(service):
    service.forum.create_user("chef", ADMIN, "Chef du Club", admin=True)
    headers = {"Authentication-Results": _ar("pass", "club-publik.fr")}
    row = service.deliver(make_mail("Annonce", "Texte\n", sender=f"Chef <{ADMIN}>", extra_headers=headers))
    assert _poster(service, row)[0] == service.ctx.settings.FORUM_API_USERNAME


def test_forged_admin_through_http_inbound(tmp_path, sqlite_url, localforum):
    """The same forgery through the other channel: POST /inbound/mail over real HTTP."""
    import requests

    from tests.fixtures.inbound import forumsync_serving

    env = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV, INBOUND_TOKEN="jeton-http")
    try:
        localforum.create_user("chef", ADMIN, "Chef du Club", admin=True)
        mail = make_mail("Annonce par HTTP", "Texte\n", sender=f"Chef <{ADMIN.upper()}>",
                         extra_headers={"Authentication-Results": _ar("pass", "club-publik.fr", "mx.evil.example")})
        with forumsync_serving(env.ctx) as server:
            answer = requests.post(f"http://127.0.0.1:{server.server_port}/inbound/mail", data=mail, timeout=10,
                                   headers={"Authorization": "Bearer jeton-http",
                                            "Content-Type": "message/rfc822"})
        assert answer.status_code == 202, answer.text
        env.pipe.run()
        row = env.pipe.row(answer.json()["inbox_id"])
        assert row.state == "published", row.reason
        assert _poster(env, row)[0] == env.ctx.settings.FORUM_API_USERNAME
    finally:
        env.close()
