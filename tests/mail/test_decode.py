"""Text parts: transfer decoding, charset fallbacks, format=flowed with DelSp."""
import pytest

from forumsync.mail import parse_bytes
from forumsync.mail.decode import part_text, unflow


def _part(headers: str, body: bytes):
    return parse_bytes(headers.encode() + b"\n\n" + body)


def test_quoted_printable_latin1():
    part = _part("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
                 b"caf=E9 cr=E8me=\n suite")
    assert part_text(part) == "café crème suite"


def test_base64_utf8_crlf():
    part = _part("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
                 b"w6l0w6kNCmxpZ25lIDI=")
    assert part_text(part) == "été\nligne 2"


@pytest.mark.parametrize("charset", ['"x-unknown"', "utf8", "bogus", '""'])
def test_unusable_charset_labels_fall_back(charset):
    part = _part(f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit",
                 "accusés de réception".encode("utf-8"))
    assert part_text(part) == "accusés de réception"


def test_cp1252_labelled_latin1(eml):
    text = part_text(eml("cp1252-labelled-latin1.eml"))
    assert "1\u00a0200\u00a0€" in text and "c’est « raisonnable »" in text


def test_broken_base64_does_not_raise():
    part = _part("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64", b"w6l0w6k!!!@@")
    assert isinstance(part_text(part), str)


def test_byte_order_mark_removed():
    part = _part("Content-Type: text/plain; charset=utf-8", "\ufeffBonjour".encode())
    assert part_text(part) == "Bonjour"


def test_unflow_joins_soft_breaks_keeps_hard_ones():
    text = "Une phrase \ncoupée.\nLigne dure.\n-- \nSignature"
    assert unflow(text) == "Une phrase coupée.\nLigne dure.\n-- \nSignature"


def test_unflow_delsp_removes_the_space():
    assert unflow("inscrip \ntions", delsp=True) == "inscriptions"
    assert unflow("inscrip \ntions", delsp=False) == "inscrip tions"


def test_unflow_quotes_and_space_stuffing():
    text = "> cité \n> suite\n>> plus \n>> profond\n From space-stuffed"
    assert unflow(text) == "> cité suite\n>> plus profond\nFrom space-stuffed"


def test_unflow_does_not_join_across_quote_depths():
    assert unflow("> cité \nréponse").split("\n") == ["> cité ", "réponse"]


def test_format_flowed_delsp_testdata(eml):
    text = part_text(eml("format-flowed-delsp.eml"))
    assert "Les familles pourront" in text


def test_format_flowed_thunderbird_testdata(eml):
    text = part_text(eml("thunderbird-fr-reply.eml"))
    assert "sans souci particulier, les formulaires existants" in text
    assert "> Avez-vous rencontré des problèmes lors de la dernière mise à jour de w.c.s. ?" in text
