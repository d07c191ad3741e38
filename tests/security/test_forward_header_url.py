"""Red team, nineteenth pass: a URL in a forwarded message's Subject (or From) is altered.

``body.forwarded`` writes the forwarded headers with ``escape_fragment``, which backslash-
escapes ``_`` (and ``*``, ``~``…) even inside a URL. linkify reads the text after escapes
were processed by markdown-it as the href ``…/F%5C_1234`` (the backslash kept, encoded), the
last check (``post_inert``) sees a onebox and rewrites it as ``<https://…/F%5C_1234>``: the
post links to another address than the one the mail gave (404 at best). Plain text and HTML
bodies keep URLs as written (``text._SKIP``, ``html._Converter.escape``); the headers of a
forward should too.
"""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from forumsync.mail.body import extract_body
from forumsync.mail.inert import discourse_parser
from forumsync.pipeline.post_inert import inert
from forumsync.pipeline.trim import trim_body

URL = "https://www.service-public.fr/particuliers/vosdroits/F_1234"


def test_a_url_in_a_forwarded_subject_links_where_the_mail_said():
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Jean Petit <jean.petit@mairie.fr>", f"Voir {URL}"
    inner.set_content("Bonjour, voir la fiche.\n")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "marie@meyzieu.fr", "club@listes.example.org", "TR: fiche"
    outer.set_content("Je transfère.\n")
    outer.add_attachment(inner)
    body = extract_body(email.message_from_bytes(outer.as_bytes(), policy=email.policy.default))
    text, _ = trim_body(body.markdown, forwarded=True)
    (raw,), _ = inert([text], [], set())
    hrefs = [c.attrs["href"] for t in discourse_parser().parse(raw) if t.type == "inline"
             for c in t.children or () if c.type == "link_open"]
    assert URL in hrefs, (hrefs, raw)
    assert not any("%5C" in h for h in hrefs), hrefs
