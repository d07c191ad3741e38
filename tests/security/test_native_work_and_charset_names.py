"""Red-team pass 12 (hostile MIME structure and decoding): what failed on the code before it
(native work the CPU budget cannot stop, charset names the stdlib remembers for ever)."""
from __future__ import annotations

import encodings
import time
from email.message import EmailMessage

import pytest

from forumsync.mail.headers import decode_header_value
from forumsync.mail.body import plain_is_poorer
from tests.fixtures.pipeline import make_mail
from tests.security.service import LIST, Service


@pytest.fixture
def tight_service(tmp_path, sqlite_url, localforum):
    env = Service(tmp_path, sqlite_url, localforum, PIPELINE_MESSAGE_CPU_SECONDS=2)
    yield env
    env.close()


def _nested_div_alternative(n: int) -> bytes:
    """A real-looking text/plain alternative (no stub, no lost link, no table) next to an HTML
    alternative of N unclosed <div>: plain_is_poorer() then calls html_text() on the whole HTML."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", LIST, "Compte rendu"
    msg["Message-ID"] = "<divs-12b@evil.example>"
    msg.set_content("Bonjour à tous, voici le compte rendu de la réunion de jeudi. " * 8)
    msg.add_alternative("<div>" * n, subtype="html")
    return msg.as_bytes()


def test_choosing_between_alternatives_is_not_quadratic_in_the_html(monkeypatch):
    """plain_is_poorer() ran nh3 (html_text) over the whole HTML alternative; html5ever checks
    the open elements' scope at every block start tag: quadratic, in native code the CPU budget
    cannot interrupt (80,000 <div>, 400 KB: 19 s; 100,000: 46 s). Now nh3 reads at most what
    the converter would (MAX_TEXT_CHARS)."""
    from forumsync.mail import body

    seen = []
    real = body.html_text
    monkeypatch.setattr(body, "html_text", lambda html: seen.append(len(html)) or real(html))
    started = time.process_time()
    plain_is_poorer("Bonjour à tous, voici le compte rendu de la réunion de jeudi. " * 8, "<div>" * 80_000)
    assert seen and max(seen) <= body.MAX_TEXT_CHARS
    assert time.process_time() - started < 8.0  # 19 s before; ~1.2 s now (a loaded machine: margin)


def test_an_html_alternative_of_nested_divs_stays_within_the_cpu_budget(tight_service):
    """PIPELINE_MESSAGE_CPU_SECONDS=2; a 300 KB mail took ~7 s of CPU before OverBudget could be
    raised (514 KB: 46 s; 25 MB, extrapolated: about a day, the worker hung all that time)."""
    started = time.process_time()
    row = tight_service.deliver(_nested_div_alternative(60_000))
    spent = time.process_time() - started
    assert row.state in ("published", "quarantined"), row.reason
    assert spent < 2 + 6, f"{spent:.1f} s of CPU for a budget of 2 s"  # 11.7 s before
    after = tight_service.deliver(make_mail("Après", "Un message ordinaire.\n"))
    assert after.state == "published", after.reason


def test_unknown_charset_names_are_not_remembered_for_ever():
    """Every distinct unknown charset label of an encoded word is a failed import that
    encodings.search_function caches (None) for the life of the process: ~7 MB of RSS kept per
    900 KB Subject, in the LMTP/HTTP server (ingest decodes Subject and From) and the workers."""
    before = len(encodings._cache)
    subject = "".join(f"=?rt12b-{i}?Q?a?=" for i in range(20_000))
    started = time.process_time()
    decode_header_value(subject)
    assert len(encodings._cache) - before < 1_000
    assert time.process_time() - started < 0.5
