"""Plain text → Markdown-safe text: lines kept, Markdown syntax neutralised, quotes kept."""
import pytest

from forumsync.localforum.cooking import cook
from forumsync.mail.inert import live_syntax
from forumsync.mail.text import plain_to_markdown


@pytest.mark.parametrize("text, markdown", [
    ("__init__ et *étoile*", r"\_\_init\_\_ et \*étoile\*"),
    ("`code` [lien] ~barré~ a|b", r"\`code\` \[lien\] \~barré\~ a\|b"),
    ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
    ("# pas un titre", r"\# pas un titre"),
    ("Titre\n-----", "Titre\n\\-----"),
    ("Titre\n=====", "Titre\n\\====="),
    ("+ plus", r"\+ plus"),
    ("ligne 1\nligne 2", "ligne 1\nligne 2"),
    ("a\n\n\n\n\nb", "a\n\nb"),
    ("fin   \n", "fin"),
])
def test_plain_to_markdown(text, markdown):
    assert plain_to_markdown(text) == markdown


def test_urls_and_addresses_are_not_escaped():
    """A bare URL becomes an autolink (clickable, never oneboxed by Discourse: issue 12)."""
    text = "voir https://exemple.fr/a_b_*c* ou jean_dupont@x.fr ou <https://x.fr/a_b> <j_d@x.fr>"
    assert plain_to_markdown(text) == ("voir <https://exemple.fr/a_b_*c*> ou jean_dupont@x.fr ou "
                                       "<https://x.fr/a_b> <j_d@x.fr>")


def test_schemeless_urls_become_explicit_links_with_their_text():
    assert plain_to_markdown("site www.x.org/a_b. ou exemple.fr") == (
        r"site [www.x.org/a\_b](<http://www.x.org/a_b>). ou [exemple.fr](<http://exemple.fr>)")


def test_quote_followed_by_answer_gets_a_blank_line():
    md = plain_to_markdown("> question ?\nréponse\n>> plus ancien\n> moins\nfin")
    assert md == "> question ?\n\nréponse\n> > plus ancien\n>\n> moins\n\nfin"


def test_quote_content_is_escaped_too():
    assert plain_to_markdown("> __x__") == r"> \_\_x\_\_"


def test_exclamation_mark_before_a_bare_url_never_makes_an_image():
    """A bare URL becomes '[www.x.fr](<http://www.x.fr>)': a '!' just before it must stay text."""
    for text in ["!www.exemple.fr", "Super !www.exemple.fr", "\\\\!www.exemple.fr"]:
        markdown = plain_to_markdown(text)
        assert live_syntax(markdown) == [], markdown
        assert "<img" not in cook(markdown) and "!" in cook(markdown)
