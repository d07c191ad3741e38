"""List subjects of forum posts (red team, 28th pass, correctness): the subject a list thread
is known by, so that a reply that lost its headers still finds its topic by subject.

- A list thread whose subject the forum refused as it was (too short, or a title already used)
  gets a forum-only suffix « (Club Publik, 12/03/2025) »: the forum replies went back to the
  list under that decorated title (the thread changed subject; Gmail splits it; a reply
  without headers opened a second topic).
- A topic opened on the forum with a bracketed tag in its title (« [SVE] … ») was keyed by its
  raw title, while mail is keyed without its tags: a reply without headers never found it.
"""
import email
from email import policy

from tests.outbound.test_round_trip import as_list_copy, member_mail, pipeline


def _last_mail(bridge):
    return email.message_from_bytes(bridge.sink.messages[-1][2], policy=policy.default)


def test_forum_reply_to_short_list_subject_keeps_the_list_subject(sqlite_bridge):
    bridge = sqlite_bridge
    start = member_mail("Paul Martin <paul@grandlyon.fr>", "club@listes.example.org",
                        "Portail GRU", "Qui utilise le portail GRU ?\n")
    row = pipeline(bridge, as_list_copy(start))
    assert row.state == "published", row.reason
    title = bridge.gateway().topic_get(row.topic_id)["title"]
    assert title != "Portail GRU"  # the forum needed a longer title (decorated)
    bridge.reply("marie", row.topic_id, "Nous l'utilisons à Meyzieu depuis deux ans.")
    bridge.process()
    sent = _last_mail(sqlite_bridge)
    assert sent["In-Reply-To"] is not None
    assert sent["Subject"] == "Re: Portail GRU"


def test_forum_reply_to_reused_list_subject_keeps_the_list_subject(sqlite_bridge):
    bridge = sqlite_bridge
    for i in range(2):
        start = member_mail("Paul Martin <paul@grandlyon.fr>", "club@listes.example.org",
                            "Mise à jour de la plateforme", f"Question numéro {i + 1} sur la mise à jour.\n")
        row = pipeline(bridge, as_list_copy(start))
        assert row.state == "published", row.reason
    title = bridge.gateway().topic_get(row.topic_id)["title"]
    assert title != "Mise à jour de la plateforme"  # the forum refused the title as already used
    bridge.reply("marie", row.topic_id, "Nous l'avons faite la semaine dernière, sans souci.")
    bridge.process()
    sent = _last_mail(sqlite_bridge)
    assert sent["Subject"] == "Re: Mise à jour de la plateforme"


def test_subject_only_reply_to_the_decorated_mail_joins_the_topic(sqlite_bridge):
    """The consequence: an Outlook reply to that forum mail, headers lost, answers « RE:
    [club-publik] Re: Portail GRU (Club Publik, …) », whose key is not the thread's: a second
    topic opens."""
    bridge = sqlite_bridge
    start = member_mail("Paul Martin <paul@grandlyon.fr>", "club@listes.example.org",
                        "Portail GRU", "Qui utilise le portail GRU ?\n")
    row = pipeline(bridge, as_list_copy(start))
    assert row.state == "published", row.reason
    bridge.reply("marie", row.topic_id, "Nous l'utilisons à Meyzieu depuis deux ans.")
    bridge.process()
    sent = _last_mail(bridge)
    answer = member_mail("Jeanne Martin <jeanne@grandlyon.fr>", "club@listes.example.org",
                         f"RE: [club-publik] {sent['Subject']}",
                         "Merci Marie, et pour la facturation ?\n")  # no In-Reply-To
    again = pipeline(bridge, as_list_copy(answer))
    assert again.state == "published", again.reason
    assert again.topic_id == row.topic_id, again.reason


def test_subject_reply_to_forum_topic_with_tagged_title_joins_it(sqlite_bridge):
    bridge = sqlite_bridge
    first = bridge.topic("marie", "[SVE] Échéances de la saisine par voie électronique",
                         "Quelles échéances pour la SVE dans vos communes ?")
    bridge.process()
    [(_, _, raw)] = bridge.sink.messages
    assert b"Message-ID: <discourse/post/" in raw
    reply = member_mail("Paul Martin <paul@grandlyon.fr>", "club@listes.example.org",
                        "RE: [club-publik] [SVE] Échéances de la saisine par voie électronique",
                        "Chez nous, la SVE est en place depuis 2023.\n")  # no In-Reply-To
    row = pipeline(bridge, as_list_copy(reply))
    assert row.state == "published", row.reason
    assert row.topic_id == first["topic_id"], "la réponse a ouvert un second sujet"
