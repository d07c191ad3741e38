"""forumsync.mail.boundary: the feedparser's boundary pattern without a compile per part, its
end-of-line pattern searched at the end only, the same parse trees."""
from __future__ import annotations

import email
import email.feedparser
import email.policy
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forumsync.mail import POLICY, boundary, parse_bytes
from forumsync.testing.corpus import corpus_raws
from tests.conftest import real_data

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
# Written exactly as email.feedparser writes it (Python 3.11's feedparser.py).
FEEDPARSER_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"


def feedparser_pattern(separator: str) -> str:
    return "(?P<sep>" + re.escape(separator) + FEEDPARSER_TAIL


def groups(match):
    return None if match is None else (match.group("end"), match.group("ws"), match.group("linesep"))


SEPARATORS = ["--simple", "--=_Part_12_34.5678", "--(quoted) \\back/slash", "--a.b*c+d?[e]{f}|g^h$",
              "--\u00e9t\u00e9 \u2028", "--", "--x\ny", "--   "]
LINES = ["{s}\n", "{s}--\n", "{s}--\r\n", "{s}  \t\r", "{s}", "{s}-- \n", "{s}x\n", " {s}\n",
         "{s}---\n", "{s}\n\n", "{s}--", "X{s}\n", "{s}\t--\n"]


def test_the_matcher_answers_as_the_feedparsers_pattern():
    for separator in SEPARATORS:
        matcher = boundary.boundary_matcher(feedparser_pattern(separator))
        assert isinstance(matcher, boundary.BoundaryMatcher)
        real = re.compile(feedparser_pattern(separator))
        for line in [form.format(s=separator) for form in LINES] + [separator.upper() + "\n",
                                                                     separator[:-1] + "\n"]:
            assert groups(matcher.match(line)) == groups(real.match(line)), (separator, line)
            assert bool(matcher.match(line)) == bool(real.match(line))


@settings(max_examples=800)
@given(st.text(alphabet="-=_.a\\()[]*+? \t\r\né", max_size=8),
       st.text(alphabet="-=_.a\\ \t\r\né", max_size=10))
def test_the_matcher_answers_as_the_feedparsers_pattern_on_any_line(boundary_text, rest):
    separator = "--" + boundary_text
    matcher = boundary.boundary_matcher(feedparser_pattern(separator))
    real = re.compile(feedparser_pattern(separator))
    for line in (separator + rest, rest, rest + separator):
        assert groups(matcher.match(line)) == groups(real.match(line))


def test_other_patterns_are_compiled_by_re():
    shim = boundary._FeedparserRe()
    assert shim.compile(r"(\r\n|\r|\n)") is re.compile(r"(\r\n|\r|\n)")
    assert isinstance(shim.compile(feedparser_pattern("--x"), re.I), re.Pattern)  # flags: not ours
    assert isinstance(shim.compile("(?P<sep>--x.y" + FEEDPARSER_TAIL), re.Pattern)  # not re.escape's
    assert shim.escape("a.b") == re.escape("a.b") and shim.NOFLAG is re.NOFLAG


@settings(max_examples=1500)
@given(st.text(alphabet="a \r\n\té", max_size=12), st.integers(0, 14), st.one_of(st.none(), st.integers(0, 14)))
def test_the_end_of_line_search_finds_what_the_feedparsers_pattern_finds(text, pos, endpos):
    real = email.feedparser.NLCRE_eol.pattern  # the standard library's, kept inside
    ours = boundary.EndOfLineSearch(real)
    found = real.search(text, pos) if endpos is None else real.search(text, pos, endpos)
    fast = ours.search(text, pos) if endpos is None else ours.search(text, pos, endpos)
    assert (found and (found.span(), found.groups())) == (fast and (fast.span(), fast.groups()))


def test_installed_by_forumsync_mail_and_taken_out_for_the_baseline():
    assert isinstance(email.feedparser.re, boundary._FeedparserRe)
    assert isinstance(email.feedparser.NLCRE_eol, boundary.EndOfLineSearch)
    with boundary.stdlib_feedparser():
        assert email.feedparser.re is re
        assert isinstance(email.feedparser.NLCRE_eol, re.Pattern)
    assert isinstance(email.feedparser.re, boundary._FeedparserRe)
    assert isinstance(email.feedparser.NLCRE_eol, boundary.EndOfLineSearch)


def same_trees(raws) -> int:
    """Parse RAWS with and without the matcher (both policies): the same pickled trees."""
    count = 0
    for raw in raws:
        for policy in (POLICY, email.policy.compat32):
            ours = pickle.dumps(email.message_from_bytes(raw, policy=policy))
            with boundary.stdlib_feedparser():
                stdlib = pickle.dumps(email.message_from_bytes(raw, policy=policy))
            assert ours == stdlib, raw[:300]
        count += 1
    return count


NESTED = b"""From: a@b.fr\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="o.u*t"\n\npreamble
--o.u*t\nContent-Type: multipart/alternative; boundary="in ner"\n\n--in ner\nContent-Type: text/plain\n
texte\n--in ner  \nContent-Type: text/html\n\n<p>x</p>\n--in ner--\nepilogue\n--o.u*t\n
Content-Type: text/plain\n\n--o.u*tx pas une limite\n--o.u*t--"""


def test_the_same_trees_for_the_test_mails():
    raws = [path.read_bytes() for path in sorted(TESTDATA.glob("*.eml"))] + [NESTED]
    assert same_trees(raws) == len(raws) > 40
    tree = parse_bytes(NESTED)
    assert [part.get_content_type() for part in tree.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/plain"]
    assert "pas une limite" in list(tree.walk())[-1].get_payload()


@pytest.mark.slow
def test_the_same_trees_for_both_corpora():
    paths = [real_data("corpus", "usrp-users-dev2k.mbox.gz"), real_data("corpus", "cocci-1k.mbox.gz")]
    assert same_trees(corpus_raws(paths)) > 2900
