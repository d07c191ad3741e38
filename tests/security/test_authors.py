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
    # names that claim a forum role (red-team finding, 6 December 2026)
    "admin <admin@evil.example>",
    "Administrateur du forum <x1@evil.example>",
    "Équipe Bistro <x2@evil.example>",
    "Modératrice <x3@evil.example>",
    "staff <x4@evil.example>",
    "ＡＤＭＩＮ <x5@evil.example>",
    "<webmaster@evil.example>",
    # the name in another order, with a civility, run together; the leads' title (red team,
    # twelfth pass: members.name_keys, claims_a_role)
    "DUPONT Marie <md1@evil.example>",
    "Dupont Marie <md2@evil.example>",
    "Mme Marie Dupont <md3@evil.example>",
    "MarieDupont <md4@evil.example>",
    "<dupont.marie@evil.example>",
    "Animatrice SVE <an1@evil.example>",
    "animateurs-sve <an2@evil.example>",
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


@pytest.mark.parametrize("sender, username", [
    # the name and the local part both pass for the member's: neither makes the username
    ("Marie Dupont <marie.dupont@evil.example>", "non_verifie"),
    ("MARIE DUPÓNT <dupont.marie@evil.example>", "non_verifie"),
    # the name is borrowed: the address makes it
    ("Marie Dupont <jean.roux@evil.example>", "jean.roux"),
    ("Маrie Dupont <paul@evil.example>", "paul"),
    ("Administrateur du forum <claire@evil.example>", "claire"),
    ("<webmaster@evil.example>", "evil"),  # a generic local part: the domain (UserNameSuggester)
    # the local part is borrowed, the name is not: the name without its mark makes it
    ("Jean Roux <marie.dupont@evil.example>", "Jean_Roux"),
    # the number UserNameSuggester appends to a taken username, a member's or a role's; the
    # team; longer than the 20 characters the username is cut to (red team, 53rd pass bis)
    ("Marie Dupont <marie.dupont2@evil.example>", "non_verifie"),
    ("Marie Dupont <marie1@evil.example>", "non_verifie"),
    ("Marie Dupont <modo1@evil.example>", "non_verifie"),
    ("Marie Dupont <chef_2@evil.example>", "non_verifie"),
    ("Marie Dupont <system2@evil.example>", "non_verifie"),
    ("Marie Dupont <equipe@evil.example>", "non_verifie"),
    ("Marie Dupont <marie.dupont.de.lyon.ouest@evil.example>", "non_verifie"),
])
def test_a_marked_sender_s_username_neither_carries_the_mark_nor_a_member_s_name(checked, sender, username):
    """The mark is for the name shown; the username of the staged user was made from the
    marked name (« Marie_Dupont_adresse », cut at 20), and the name without it would give
    « Marie_Dupont1 », a username passing for the member's (51st pass)."""
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender=sender))
    assert row.state == "published", row.reason
    got, name, _ = _poster(checked, row)
    assert (got, name.endswith("(adresse non vérifiée)")) == (username, True)


def test_a_taken_fallback_username_gets_the_first_free_number(checked):
    for n, address in enumerate(("marie.dupont@evil.example", "marie.dupont@other.example")):
        row = checked.deliver(make_mail(f"Bonjour {n}", "Texte\n", sender=f"Marie Dupont <{address}>"))
        assert _poster(checked, row)[0] == ["non_verifie", "non_verifie1"][n]


def test_an_unmarked_sender_s_username_is_made_from_the_name_as_discourse_does(checked):
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender="Anne Roux <anne.roux@ville-exemple.fr>"))
    assert _poster(checked, row)[:2] == ("Anne_Roux", "Anne Roux")


def test_look_alike_names_are_marked_in_attribution_lines(bridge_service):
    bridge_service.forum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    row = bridge_service.deliver(make_mail("Bonjour", "Texte\n", sender="Маrie Dupont <md@evil.example>"))
    first = bridge_service.post(row.post_id).raw.splitlines()[0]
    assert "(adresse non vérifiée)" in first


@pytest.mark.parametrize("name", ["Anne Roux", "Systèmes d'information Meyzieu", "Équipe numérique",
                                  "Adèle Minot", "Bistrot du port"])
def test_unrelated_names_are_not_marked(checked, name):
    row = checked.deliver(make_mail("Bonjour", "Texte\n", sender=f"{name} <anne.roux@ville-exemple.fr>"))
    assert _poster(checked, row)[1] == name


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


@pytest.mark.parametrize("kind", [dict(admin=True), dict(moderator=True), dict()])
@pytest.mark.parametrize("verdict", [None, "pass"])
def test_a_deactivated_account_gets_nothing_posted_in_its_name(checked, kind, verdict):
    """Red-team finding (6 December 2026): a forged From with a deactivated admin's address was
    posted as that admin. Email::Receiver refuses it (InactiveUserError): quarantine."""
    checked.forum.create_user("ancien", "ancien.chef@club-publik.fr", "Ancien Chef", active=False, **kind)
    headers = {"Authentication-Results": _ar(verdict, "club-publik.fr")} if verdict else None
    before = len(checked.posts())
    row = checked.deliver(make_mail("Annonce officielle", "Changez vos mots de passe.\n",
                                    sender="Ancien Chef <ancien.chef@club-publik.fr>", extra_headers=headers))
    assert row.state == "quarantined"
    assert row.reason.startswith("le compte du forum de ancien.chef@club-publik.fr est désactivé")
    assert len(checked.posts()) == before


def test_what_the_forum_says_of_an_account_decides_whether_it_posts():
    """The fields of AdminUserListSerializer: ``silenced`` and ``suspended_till`` are there
    only while they hold (include_silenced?, include_suspended_till?)."""
    from forumsync.pipeline.sender import account_refusal

    assert account_refusal({"username": "a", "active": True}) is None
    assert account_refusal({"username": "a", "active": False, "staged": True}) is None
    assert account_refusal({"username": "a", "active": False}) == "désactivé"
    assert account_refusal({"username": "a", "active": True, "silenced": True}) == "réduit au silence"
    assert account_refusal({"username": "a", "staged": True, "silenced": True}) == "réduit au silence"
    assert account_refusal({"username": "a", "active": True, "suspended_till": "2099-01-01T00:00:00Z",
                            "suspended_at": "2026-01-01T00:00:00Z"}) == "suspendu"


def test_the_staged_door_refuses_an_account_the_lookup_missed(checked):
    """The plugin's door (and the local forum's) posts only as staged users: an address that
    belongs to an account forumsync did not see (Discourse matches secondary addresses there)
    falls back to the bridge account, never to that account."""
    chef = checked.forum.create_user("chef2", "chef2@club-publik.fr", "Chef Deux", admin=True)
    gateway = checked.ctx.forum
    original = gateway.user_by_email
    gateway.user_by_email = lambda email: None if email == "chef2@club-publik.fr" else original(email)
    try:
        row = checked.deliver(make_mail("Annonce", "Texte\n", sender="Chef Deux <chef2@club-publik.fr>"))
    finally:
        gateway.user_by_email = original
    assert row.state == "published", row.reason
    post = checked.post(row.post_id)
    assert post.user_id != chef["id"]
    assert _poster(checked, row)[0] == checked.ctx.settings.FORUM_API_USERNAME
