"""forumsync.mail: the policy and parse_bytes survive hostile mail."""
import email
import email.policy
from email.message import EmailMessage

import pytest

from forumsync.mail import POLICY, parse_bytes
from tests.fixtures.mail import TESTDATA


def test_policy_does_not_raise_on_defects():
    assert POLICY.raise_on_defect is False


def test_parse_bytes_gives_email_message_for_every_testdata_file():
    names = sorted(p.name for p in TESTDATA.glob("*.eml"))
    assert len(names) >= 30
    for name in names:
        msg = parse_bytes((TESTDATA / name).read_bytes())
        assert isinstance(msg, EmailMessage), name


def test_parse_bytes_accepts_garbage():
    msg = parse_bytes(b"\x00\xff not a mail at all\n\n\xfe")
    assert isinstance(msg, EmailMessage)


MIME_VALUES = [
    'multipart/alternative; boundary="----=_Part_1_2.3"', "text/plain; charset=utf-8; format=flowed",
    'text/plain;\tcharset="iso-8859-1"', 'application/pdf; name="rapport annuel (v2).pdf"',
    "text/plain; charset=utf-8; charset=us-ascii", "text/plain; charset=utf-8;", "Text/HTML",
    'image/png; name="=?utf-8?q?caf=C3=A9.png?="', "application/pdf; name*=utf-8''caf%C3%A9.pdf",
    'image/png; name="a\\"b.png"', "text/plain (commentaire); charset=utf-8", "n'importe quoi",
    'attachment; filename="devis.pdf"', "inline", 'attachment; filename="sans fin.pdf',
]


@pytest.mark.parametrize("value", MIME_VALUES)
def test_mime_headers_read_as_the_default_policy_reads_them(value):
    """The plain values skip the header objects (speed): the email package must not notice."""
    raw = (f"Content-Type: {value}\nContent-Disposition: {value}\n"
           f"Content-Transfer-Encoding: base64\n\nQm9uam91cg==\n").encode()
    ours = parse_bytes(raw)
    default = email.message_from_bytes(raw, policy=email.policy.default.clone(raise_on_defect=False))
    for read in (lambda m: m.get_content_type(), lambda m: m.get_boundary(),
                 lambda m: m.get_filename(), lambda m: m.get_param("charset"),
                 lambda m: m.get_content_disposition(), lambda m: m.get_payload(decode=True)):
        assert read(ours) == read(default)
