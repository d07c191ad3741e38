"""List footers: Mailman's rule and list-info block, and configured patterns."""
from forumsync.mail.footer import strip_footer

MAILMAN2 = ("Merci !\n\nLuc\n_______________________________________________\nUSRP-users mailing list\n"
            "USRP-users@lists.ettus.com\nhttp://lists.ettus.com/mailman/listinfo/usrp-users_lists.ettus.com")
MAILMAN3 = ("Merci !\n_______________________________________________\n"
            "Club Publik -- club@listes.example.org\nPour vous désabonner, envoyez un message à "
            "club-leave@listes.example.org")


def test_mailman_footers():
    assert strip_footer(MAILMAN2) == ("Merci !\n\nLuc", True)
    assert strip_footer(MAILMAN3) == ("Merci !", True)


def test_markdown_escaped_rule():
    text = MAILMAN3.replace("_" * 47, "\\_" * 47)
    assert strip_footer(text) == ("Merci !", True)


def test_a_rule_that_is_not_a_footer_stays():
    text = "Tableau\n________________________________\nDe : Paul <p@x.fr>\nEnvoyé : lundi\nObjet : x\n\nsuite"
    assert strip_footer(text) == (text, False)


def test_long_text_after_rule_is_not_a_footer():
    text = "a\n" + "_" * 30 + "\n" + "ligne\n" * 40 + "mailman"
    assert strip_footer(text)[1] is False


def test_configured_patterns():
    text = "Bonjour\n\n-- \nListe du club : https://listes.example.org/club\nAutre"
    assert strip_footer(text, [r"^Liste du club :"]) == ("Bonjour\n\n--", True)
    assert strip_footer(text, ["(unbalanced"]) == (text, False)  # a bad pattern is ignored
    assert strip_footer("rien", [r"absent"]) == ("rien", False)
