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


@pytest.mark.parametrize("text", ["voir //exemple.fr ici", "//www.exemple.fr/a?b=1"])
def test_a_url_without_scheme_is_an_explicit_link_not_a_onebox(text):
    """« <//exemple.fr> » is no autolink (an autolink has a scheme): linkify read « //exemple.fr »
    in it, a onebox post_inert could not rewrite, and the message went to quarantine (red team,
    50th pass). Written as an explicit link: no linkify link, no onebox."""
    markdown = plain_to_markdown(text)
    assert "](<//" in markdown  # an explicit link, no « <//…> » autolink
    assert live_syntax(markdown) == []
    assert 'href="//' in cook(markdown)


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


def _shown(markdown: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", cook(markdown)))


SETTINGS = ("Voici settings.py :\n\n"
            "    TEMPLATE_VARS = {'portal_url': 'https://www.meyzieu.fr'}\n"
            "    if count < 10 and is_ok:\n"
            "        print(\"*ok*\")\n\n"
            "et le journal :\n\n"
            "\tERROR [wcs] KeyError: 'nom_de_famille' @staff\n\n"
            "Merci !")


def test_indented_code_shows_as_written():
    """Red team, twenty-third pass: four spaces or a tab after a blank line make indented code,
    where escapes and entities show as written: « TEMPLATE\\_VARS », « &lt; » on the forum."""
    markdown = plain_to_markdown(SETTINGS)
    shown = _shown(markdown)
    for written in ("TEMPLATE_VARS = {'portal_url': 'https://www.meyzieu.fr'}", "if count < 10 and is_ok:",
                    'print("*ok*")', "ERROR [wcs] KeyError: 'nom_de_famille'"):
        assert written in shown, (written, markdown)
    assert "<pre><code>" in cook(markdown)
    assert live_syntax(markdown) == []  # code: the @staff there is no mention


@pytest.mark.parametrize("text, kept", [
    # no blank line before: a paragraph's continuation, escaped as any text
    ("Voici :\n    x_y < 3", "x\\_y &lt; 3"),
    # after a list item, an indented line is the item's paragraph, not code
    ("- point\n\n    x_y < 3", "x\\_y &lt; 3"),
    # a line that would open a block BBCode stays escaped (live_syntax reads indented code too)
    ("Code :\n\n    [quote=\"x\"]", "\\[quote"),
])
def test_indented_lines_that_are_not_code_stay_escaped(text, kept):
    markdown = plain_to_markdown(text)
    assert kept in markdown
    assert live_syntax(markdown) == []


def test_indented_code_inside_a_quote_shows_as_written():
    markdown = plain_to_markdown("> Le réglage :\n>\n>     x_y < 3\n\nMerci")
    assert ">     x_y < 3" in markdown
    assert "x_y < 3" in _shown(markdown)


@pytest.mark.parametrize("text", [
    "- un point\n\nTexte.\n\n    x_y < 3",  # the list is closed before the code
    "> - un point\n>\n>     x_y < 3\n\nTexte.\n\n    x_y < 3",  # the quote's line is the item's
])
def test_indented_code_is_read_as_markdown_it_reads_it(text):
    """The shortcuts (no list before: no parse; a parse from the last line that closes every
    block) give what a parse of the whole text gives."""
    from forumsync.mail.inert import discourse_parser

    markdown = plain_to_markdown(text)
    code = {i for t in discourse_parser().parse(markdown) if t.type == "code_block" for i in range(*t.map)}
    for index, line in enumerate(markdown.split("\n")):
        if "x" in line:
            assert ("x_y < 3" in line) == (index in code), (index, markdown)
    assert live_syntax(markdown) == []


def test_a_bare_plus_opens_a_list_and_its_indented_lines_stay_escaped():
    """Red team, twenty-fifth pass: « + » alone on a line was not escaped and opened a list the
    shortcut did not see; the indented line after it, the item's paragraph, was written as is.
    It is escaped now: no list, and the indented line after the blank one is code."""
    markdown = plain_to_markdown("Bonjour,\n\n+\n    premier point\n\n    ![a](http://127.0.0.1/x.png) <img src=x>\n")
    assert "\\+" in markdown.split("\n")
    assert live_syntax(markdown) == [] and "<img" not in cook(markdown), markdown
    assert "![a](http://127.0.0.1/x.png) <img src=x>" in _shown(markdown)
    # any list marker before the lines sends them through the parse, which sees the item
    markdown = plain_to_markdown("* point\n\n    ![a](http://127.0.0.1/x.png)")
    assert live_syntax(markdown) == [] and "<img" not in cook(markdown), markdown


def test_code_folded_by_trim_leaves_the_last_net_nothing_to_do():
    """Red team, twenty-fifth pass: code right under « [details=…] » read, without Discourse's
    details container, as that line's paragraph: the net rewrote the code (« &lt; » shown)."""
    from forumsync.pipeline.post_inert import inert
    from forumsync.pipeline.trim import trim_body

    body, trimmed = trim_body(plain_to_markdown(
        "Bonjour,\n\n    Le 3 mars 2026, Marie a écrit :\n    > user = <admin> ![a](http://e/p.png)\n"))
    assert trimmed and '[details="Message cité"]' in body
    assert inert([body], [], set())[0] == [body]
    assert "user = <admin> ![a](http://e/p.png)" in _shown(body)
