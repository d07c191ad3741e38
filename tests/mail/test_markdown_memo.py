"""The inline memo of markdown-it (forumsync/markdown_memo.py): the same tokens and HTML as
markdown-it without it, for the pool's check and for the local forum's cooking."""
from __future__ import annotations

from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

from forumsync import markdown_memo
from forumsync.localforum import cooking
from forumsync.mail import inert

# Each inline content appears in several contexts (paragraph, quote, list, table, heading);
# entities and escapes exercise text_join, links and addresses exercise linkify.
DOCUMENTS = [
    "Bonjour @marie, voir www.publik.fr et https://exemple.fr/a?b=1.\nÀ bientôt",
    "> Bonjour @marie, voir www.publik.fr et https://exemple.fr/a?b=1.\n> À bientôt\n\nMerci !",
    "- Bonjour @marie, voir www.publik.fr et https://exemple.fr/a?b=1.\n\n> > Merci !",
    "| a | b |\n|---|---|\n| Merci ! | www.publik.fr |\n\n# Merci !",
    "&#64;staff et \\@admin et @&#115;taff, `@code`, <https://x.fr> ![](http://i.fr/a.png)",
    "[img]http://i.fr/b.png[/img] et <img src=x> et *gras* **très** ~~barré~~",
    "> &#64;staff et \\@admin et @&#115;taff, `@code`, <https://x.fr> ![](http://i.fr/a.png)",
    "Merci !",
]


def plain_parser() -> MarkdownIt:
    """The pool check's parser without the memo (inert.discourse_parser's settings)."""
    md = (MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True})
          .enable(["table", "strikethrough", "linkify"]))
    md.linkify = LinkifyIt().tlds(inert.DISCOURSE_TLDS)
    md.inline.ruler.push("bbcode_img", inert._img_bbcode)
    return md


def dump(tokens) -> list:
    return [token.as_dict() for token in tokens]


def test_memoised_tokens_equal_markdown_its_own_on_first_and_later_sight():
    memoised = markdown_memo.install(plain_parser(), size=64)
    plain = plain_parser()
    for _round in range(2):  # the second round reads every inline content from the memo
        for document in DOCUMENTS:
            assert dump(memoised.parse(document)) == dump(plain.parse(document)), document
    assert "Merci !" in memoised.inline_memo  # the repeats were served from it


def test_a_document_with_link_definitions_is_parsed_without_the_memo():
    memoised = markdown_memo.install(plain_parser(), size=64)
    defined = memoised.render("[foo] et ![foo]\n\n[foo]: http://piege.fr/x.png")
    assert 'href="http://piege.fr/x.png"' in defined
    # The same content in a document without the definition: plain text, not the link
    # cached from the first document.
    assert memoised.render("[foo] et ![foo]") == plain_parser().render("[foo] et ![foo]")
    assert "piege" not in memoised.render("[foo] et ![foo]")


def test_the_memo_is_bounded_and_forgets_oldest_first():
    memoised = markdown_memo.install(plain_parser(), size=3)
    for index in range(5):
        memoised.parse(f"paragraphe {index}")
    assert list(memoised.inline_memo) == ["paragraphe 2", "paragraphe 3", "paragraphe 4"]
    markdown_memo.clear_all()
    assert not memoised.inline_memo


def test_the_pool_check_reports_the_same_with_the_memo():
    markdown_memo.clear_all()
    for document in DOCUMENTS * 2:
        problems = inert.live_syntax(document, (), onebox=True)
        expected, tokens = [], plain_parser().parse(document)
        for token in tokens:
            if token.type == "html_block" and inert._HTML_IMG.search(token.content):
                expected.append("image <img>")
            if token.type == "inline" and token.children:
                expected += inert._inline_problems(token.children, set(), True)
        code = inert.fence_lines(tokens)
        lines = [line for index, line in enumerate(document.split("\n")) if index not in code]
        if "[" in document:
            blocks = sorted({f"bbcode {tag}" for tag in map(inert.block_bbcode, lines) if tag and tag != "quote"})
            expected = blocks + expected
            if any(inert._QUOTE_LINE.match(line) for line in lines):
                expected.insert(0, "quote")
        assert problems == expected, document


def test_the_local_forum_cooks_the_same_html_with_the_memo():
    plain = MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True}) \
        .enable(["table", "strikethrough", "linkify"])
    plain.inline.ruler.push("bbcode_img", cooking._img_bbcode)
    plain.core.ruler.push("mentions", cooking._mentions)
    markdown_memo.clear_all()
    for document in DOCUMENTS * 2:
        assert cooking._md.render(document) == plain.render(document), document
    assert '<span class="mention">@marie</span>' in cooking.cook(DOCUMENTS[1])
