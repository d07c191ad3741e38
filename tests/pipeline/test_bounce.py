"""bounce: DSNs, read receipts, delivery-report subjects, mailer daemons."""
import pytest

from forumsync.mail import parse_bytes
from forumsync.pipeline import bounce
from forumsync.pipeline.errors import Drop
from tests.fixtures.mail import TESTDATA

REPORTS = {
    "bounce-dsn.eml": "avis de non-remise",
    "mdn-read-receipt-fr.eml": "accusé de lecture",
    "outlook-non-remis-subject.eml": "Non remis",
}


@pytest.mark.parametrize("name, why", sorted(REPORTS.items()))
def test_reports_dropped(eml, mail_ctx, name, why):
    with pytest.raises(Drop) as info:
        bounce.process(mail_ctx, eml(name), {})
    assert why in info.value.reason


@pytest.mark.parametrize("name", sorted(p.name for p in TESTDATA.glob("*.eml") if p.name not in REPORTS))
def test_other_testdata_pass(eml, name):
    assert bounce.check(eml(name)) == (False, "")


@pytest.mark.parametrize("subject", [
    "Accusé de lecture : Question", "Accuse de lecture (affiché) - x", "Lu : Question", "Lu: x", "Read: x",
    "Undeliverable: x", "Non remis : x", "Remis : x", "Delivery Status Notification (Failure)",
    "Mail delivery failed: returning message to sender", "Returned mail: see transcript",
    "Échec de la remise du message", "Unzustellbar: x",
])
def test_report_subjects(subject):
    msg = parse_bytes(f"From: a@x.fr\nSubject: {subject}\n\nx".encode())
    assert bounce.check(msg)[0]


@pytest.mark.parametrize("subject", ["Lucas : question", "Lu et approuvé", "Relecture du guide",
                                     "Re: Undelivered connector config"])
def test_ordinary_subjects_pass(subject):
    assert bounce.check(parse_bytes(f"From: a@x.fr\nSubject: {subject}\n\nx".encode())) == (False, "")


def test_flufl_bounce_finds_the_failed_address_of_a_qmail_bounce():
    raw = (b"From: MAILER-DAEMON@mx.example.org\nTo: club-bounces@listes.example.org\n"
           b"Subject: Message en retour\n\nHi. This is the qmail-send program at mx.example.org.\n"
           b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
           b"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
           b"<gone@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
           b"--- Below this line is a copy of the message.\n")
    assert bounce.check(parse_bytes(raw)) == (True, "avis de non-remise (1 adresse(s) en échec)")


def test_other_daemon_mail_is_dropped_too():
    msg = parse_bytes(b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nSubject: Information\n\nx")
    assert bounce.check(msg) == (True, "message automatique de mailer-daemon@mx.example.org")


def test_empty_return_path_from_a_person_is_not_a_bounce():
    msg = parse_bytes(b"Return-Path: <>\nFrom: Jeanne <j@x.fr>\nSubject: Question\n\nx")
    assert bounce.check(msg) == (False, "")
    msg = parse_bytes(b"Return-Path: <>\nFrom: postmaster@x.fr\nSubject: Information\n\nx")
    assert bounce.check(msg)[0]
