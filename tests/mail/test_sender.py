"""DMARC From-munging undone: the real author from X-Original-From, Reply-To, Cc or Sender."""
from forumsync.mail import parse_bytes
from forumsync.mail.sender import author_claims, list_addresses, real_sender

LIST = "club@listes.example.org"


def test_mailman3_reply_to(eml):
    assert real_sender(eml("dmarc-munged-mailman3.eml"), LIST) == ("Jeanne Dupont", "jeanne.dupont@meyzieu.fr")


def test_x_original_from_wins_over_reply_to_the_list(eml):
    assert real_sender(eml("dmarc-munged-x-original-from.eml"), LIST) == ("François Léger", "francois.leger@yahoo.fr")


def test_list_detected_from_list_post_header_only():
    msg = parse_bytes(b'From: "Marcus D. Leech via USRP-users" <usrp-users@lists.ettus.com>\n'
                      b"Reply-To: \"Marcus D. Leech\" <patchvonbraun@gmail.com>\n"
                      b"List-Post: <mailto:usrp-users@lists.ettus.com>\n\nx")
    assert list_addresses(msg, LIST) == {LIST, "usrp-users@lists.ettus.com"}
    assert real_sender(msg, LIST) == ("Marcus D. Leech", "patchvonbraun@gmail.com")


def test_cc_with_the_same_name_when_reply_to_is_the_list():
    msg = parse_bytes(b"From: Anne Roux via Club <club@listes.example.org>\nReply-To: club@listes.example.org\n"
                      b"Cc: Autre <autre@x.fr>, Anne Roux <anne.roux@grandlyon.com>\n\nx")
    assert real_sender(msg, LIST) == ("Anne Roux", "anne.roux@grandlyon.com")


def test_sender_header_but_not_list_roles():
    msg = parse_bytes(b"From: Anne Roux via Club <club@listes.example.org>\n"
                      b"Sender: club-bounces@listes.example.org\n\nx")
    assert real_sender(msg, LIST) == ("Anne Roux", "club@listes.example.org")  # nothing better known
    msg = parse_bytes(b"From: Anne Roux via Club <club@listes.example.org>\nSender: anne@x.fr\n\nx")
    assert real_sender(msg, LIST) == ("Anne Roux", "anne@x.fr")


def test_normal_mail_untouched(eml):
    assert real_sender(eml("thunderbird-fr-reply.eml"), LIST) == ("Pierre Lambert", "p.lambert@ville-valence.fr")
    # "via" in a real name with a personal address is not munging
    msg = parse_bytes(b"From: Luc via Mobile <luc@x.fr>\nReply-To: other@y.fr\n\nx")
    assert real_sender(msg, LIST) == ("Luc via Mobile", "luc@x.fr")


def test_the_address_the_list_appended_is_read_first_and_several_are_counted():
    """Mailman 3 appends the original From to the sender's own Reply-To (handlers/dmarc.py):
    the last one is the list's word; the others are the sender's, so the mail names two."""
    msg = parse_bytes(b"From: Benoit via Club <club@listes.example.org>\n"
                      b"Reply-To: Chef <chef@club-publik.fr>, Benoit <benoit@club-publik.fr>\n\nx")
    assert real_sender(msg, LIST) == ("Benoit", "benoit@club-publik.fr")
    assert author_claims(msg, LIST) == {"chef@club-publik.fr", "benoit@club-publik.fr"}
    one = parse_bytes(b"From: Anne Roux via Club <club@listes.example.org>\n"
                      b"Reply-To: Anne Roux <Anne.Roux@grandlyon.com>\nSender: anne.roux@grandlyon.com\n\nx")
    assert author_claims(one, LIST) == {"anne.roux@grandlyon.com"}  # one author, twice
    assert author_claims(parse_bytes(b"From: Luc <luc@x.fr>\nReply-To: other@y.fr\n\nx"), LIST) == set()
