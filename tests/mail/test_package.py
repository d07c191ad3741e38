"""forumsync.mail: the policy and parse_bytes survive hostile mail."""
from email.message import EmailMessage

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
