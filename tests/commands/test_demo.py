"""`forumsync demo` end to end: themed topics, catalogue, LMTP in, forum post out to the Maildir."""
import email
import mailbox
import os
import signal
import smtplib
import subprocess
import sys
from email import policy
from email.message import EmailMessage

import pytest

from forumsync.forum.gateway import ForumGateway
from tests.fixtures.database import free_port
from tests.waiting import wait_until

READY = "Ctrl-C pour tout arrêter."


@pytest.fixture
def demo(tmp_path):
    ports = {name: free_port() for name in ("forum", "web", "lmtp", "smtp")}
    settings = tmp_path / "settings.py"
    settings.write_text(
        f'FORUM_URL = "http://127.0.0.1:{ports["forum"]}"\n'
        f'WEB_URL = "http://127.0.0.1:{ports["web"]}"\n'
        f'LMTP_LISTEN = "127.0.0.1:{ports["lmtp"]}"\n'
        f'SMTP_URL = "smtp://127.0.0.1:{ports["smtp"]}"\n', encoding="utf-8")
    workdir = tmp_path / "demo"
    log = open(tmp_path / "demo.log", "w+", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "forumsync.cli", "--settings", str(settings), "demo", "--dir",
         str(workdir)], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        def ready():
            log.seek(0)
            text = log.read()
            if process.poll() is not None:
                raise AssertionError(f"demo exited early:\n{text}")
            return READY in text and text
        output = wait_until(ready, timeout=180)
        yield dict(process=process, ports=ports, workdir=workdir, output=output, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_demo_shows_the_whole_product(demo):
    ports = demo["ports"]
    forum = ForumGateway(f"http://127.0.0.1:{ports['forum']}", "demo-api-key", "system")
    categories = {c["slug"]: c for c in forum.category_list()}
    # themes provisioned, with the sample archive's topics in them
    for slug in ("sve", "open-data", "famille"):
        assert slug in categories, sorted(categories)
        assert forum.category_topics(categories[slug]["id"]), f"no topic in theme {slug}"
    # the catalogue published from the bundled .wcs files
    catalogue = [c for c in categories.values() if c["name"] == "Catalogue des démarches"]
    assert catalogue
    catalogue_ids = {catalogue[0]["id"]} | {c["id"] for c in categories.values()
                                            if c.get("parent_category_id") == catalogue[0]["id"]}
    assert sum(len(forum.category_topics(cid)) for cid in catalogue_ids) >= 4

    # a message sent to the LMTP port appears on the forum
    msg = EmailMessage()
    msg["From"] = "Marie Durand <marie.durand@meyzieu.fr>"
    msg["To"] = "club@listes.example.org"
    msg["Subject"] = "[SVE] Délai de l'accusé de réception électronique"
    msg["Message-ID"] = "<demo-test-1@meyzieu.fr>"
    msg.set_content("Bonjour, quel délai appliquez-vous pour l'accusé de réception ?")
    with smtplib.LMTP("127.0.0.1", ports["lmtp"]) as client:
        client.send_message(msg)
    def bridged_topic():
        return next((t for t in forum.category_topics(categories["sve"]["id"])
                     if "accusé de réception électronique" in t["title"]), None)
    topic = wait_until(bridged_topic)
    # a reply written on the forum by a member goes to the list (the Maildir), threaded
    forum.as_user("julien").post_create(topic["id"], "Chez nous, 10 jours ouvrés, envoyé par w.c.s.")
    maildir = demo["workdir"] / "maildir"

    def sent():
        if not maildir.exists():
            return None
        box = mailbox.Maildir(str(maildir), create=False,
                              factory=lambda f: email.message_from_binary_file(f, policy=policy.default))
        return [m for m in box if m["In-Reply-To"] == "<demo-test-1@meyzieu.fr>"]
    mails = wait_until(sent, timeout=30)
    assert mails[0]["Subject"] == "Re: [SVE] Délai de l'accusé de réception électronique"
    assert "10 jours ouvrés" in mails[0].get_body(("plain",)).get_content()


def test_demo_stops_cleanly_on_ctrl_c(demo):
    process = demo["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    demo["log"].seek(0)
    assert "Démo arrêtée." in demo["log"].read()
