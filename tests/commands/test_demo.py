"""`forumsync demo` end to end: themed topics, catalogue, LMTP in, forum post out to the Maildir."""
import email
import mailbox
import os
import re
import shlex
import signal
import smtplib
import subprocess
import sys
from email import policy
from email.message import EmailMessage

import requests

import pytest

from forumsync.forum.gateway import ForumGateway
from tests.fixtures.database import free_port
from tests.waiting import wait_until

READY = "Ctrl-C pour tout arrêter."


@pytest.fixture
def demo(tmp_path):
    ports = {name: free_port() for name in ("forum", "web", "lmtp", "smtp")}
    workdir = tmp_path / "demo"
    log = open(tmp_path / "demo.log", "w+", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FORUMSYNC_SETTINGS"}
    process = subprocess.Popen(
        [sys.executable, "-m", "forumsync.cli", "demo", "--dir", str(workdir), "--ports",
         ",".join(str(ports[n]) for n in ("forum", "web", "lmtp", "smtp"))],
        stdout=log, stderr=subprocess.STDOUT, env={**env, "PYTHONUNBUFFERED": "1"}, cwd=tmp_path)
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


def cli(*args, settings=None):
    env = {k: v for k, v in os.environ.items() if k != "FORUMSYNC_SETTINGS"}
    command = [sys.executable, "-m", "forumsync.cli"] + (["--settings", str(settings)] if settings else [])
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, timeout=120)


def command_lines(output: str, start: str) -> list[list[str]]:
    """The shell commands the demo printed that begin with START (continuations joined)."""
    commands, current = [], None
    for line in output.splitlines():
        stripped = line.strip()
        if current is not None:
            current += " " + stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                commands.append(shlex.split(current))
                current = None
        elif stripped.startswith(start):
            current = stripped.rstrip("\\").strip()
            if not stripped.endswith("\\"):
                commands.append(shlex.split(current))
                current = None
    return commands


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
    # the footer link (« Répondre sur Bistro ») is a page a person can open, whatever Accept says
    link = next(line.split(" : ", 1)[1] for line in mails[0].get_body(("plain",)).get_content().splitlines()
                if line.startswith("Répondre sur Bistro : "))
    assert link.startswith(f"http://127.0.0.1:{ports['forum']}/ui/t/{topic['id']}")
    page = requests.get(link, headers={"Accept": "*/*"}, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "10 jours ouvrés" in page.text


@pytest.mark.slow  # each starts a whole demo: the fast lane keeps test_demo_shows_the_whole_product
def test_demo_says_where_things_are_and_who_leads(demo):
    output, workdir = demo["output"], demo["workdir"]
    assert f"Base de forumsync      {workdir / 'forumsync.sqlite3'}" in output
    assert f"Base du forum local    {workdir / 'localforum.sqlite3'}" in output
    assert str(workdir / "maildir") in output
    assert "« animation-sve » — Sophie Martin (Meyzieu) — anime le thème « SVE »" in output
    assert "fermer, l'archiver ou le déplacer" in output
    # the settings file it prints works for the other commands, on the demo's own databases
    settings = workdir / "settings.py"
    assert f"--settings {settings} themes" in output
    themes = cli("themes", settings=settings)
    assert themes.returncode == 0, themes.stderr
    assert "Thèmes (4)" in themes.stdout and "animateurs-sve" in themes.stdout
    inbox = cli("inbox", "list", settings=settings)
    assert inbox.returncode == 0, inbox.stderr
    assert "publié" in inbox.stdout and inbox.stdout.count("mbox") >= 20
    # what the output says the lead can do, it can: close a topic of its theme (a member cannot)
    forum_url = f"http://127.0.0.1:{demo['ports']['forum']}"
    forum = ForumGateway(forum_url, "demo-api-key", "system")
    sve = next(c for c in forum.category_list() if c["slug"] == "sve")
    topic_id = forum.category_topics(sve["id"])[-1]["id"]
    refused = requests.post(f"{forum_url}/ui/t/{topic_id}/status", timeout=10,
                            data={"username": "julien", "status": "closed", "enabled": "true"})
    assert "Action refusée" in refused.text and not forum.topic_get(topic_id)["closed"]
    requests.post(f"{forum_url}/ui/t/{topic_id}/status", timeout=10,
                  data={"username": "animation-sve", "status": "closed", "enabled": "true"})
    assert forum.topic_get(topic_id)["closed"]


@pytest.mark.slow
def test_the_printed_reply_commands_reply_in_the_topic(demo):
    ports = demo["ports"]
    replies = [c for c in command_lines(demo["output"], "swaks") if any("Re: " in a for a in c)]
    assert len(replies) == 2, demo["output"]
    by_message_id, by_signed_address = replies
    assert any(a.startswith("In-Reply-To: <") for a in by_message_id)
    assert by_signed_address[by_signed_address.index("--to") + 1].startswith("bistro+")
    topic_id = int(demo["output"].split("(sujet ")[1].split(")")[0])
    forum = ForumGateway(f"http://127.0.0.1:{ports['forum']}", "demo-api-key", "system")
    before = len(forum.topic_get(topic_id)["post_stream"]["stream"])
    for command in replies:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    wait_until(lambda: len(forum.topic_get(topic_id)["post_stream"]["stream"]) == before + 2, timeout=60)
    raws = [forum.post_get(pid)["raw"] for pid in forum.topic_get(topic_id)["post_stream"]["stream"][-2:]]
    assert any("merci pour le partage" in raw for raw in raws)
    assert any("adresse signée" in raw for raw in raws)


def test_check_settings_without_a_file_says_so():
    result = cli("check-settings")
    assert result.returncode == 0
    assert result.stdout.startswith("Aucun fichier de réglages")
    assert "var/demo/settings.py" in result.stdout
    assert "FORUM_URL = 'http://127.0.0.1:4200'" in result.stdout


def test_demo_ports_option_is_checked():
    result = cli("demo", "--ports", "4200,5000")
    assert result.returncode == 1
    assert "--ports « 4200,5000 »" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_stops_within_three_seconds(demo):
    process = demo["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    demo["log"].seek(0)
    text = demo["log"].read()
    # The stop as the demo times it (« Démo arrêtée (X s) »), not the process's wall time: on a
    # loaded machine the interpreter's own exit and the signal's delivery can add seconds.
    stopped = re.search(r"Démo arrêtée \((\d+(?:\.\d+)?) s\)", text)
    assert stopped, text[-2000:]
    elapsed = float(stopped.group(1))
    assert elapsed < 3 or "Arrêt sans attendre" in text, f"{elapsed:.1f} s"
