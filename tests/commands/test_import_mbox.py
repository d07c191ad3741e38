"""`forumsync import-mbox`: killed mid-import and resumed, idempotent, and processed to the end."""
import gzip
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from forumsync.db import Database
from forumsync.models import InboxMessage
import pytest

from tests.conftest import ROOT, real_data
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail



def expected_rows(corpus) -> int:
    """Rows the corpus stores: one per Message-ID, plus one per other content claiming a
    Message-ID already stored (inbound/copies.py); a repeat of the same content stores nothing.
    (usrp-users: 1,992 messages, 5 repeat an earlier Message-ID, 4 of them with another text.)"""
    from forumsync.inbound.ingest import message_id_of, parse_headers
    from forumsync.mail.ids import content_digest
    from forumsync.testing.corpus import corpus_raws

    contents: dict[str, set[str]] = {}
    for raw in corpus_raws([corpus]):
        contents.setdefault(message_id_of(parse_headers(raw), raw), set()).add(content_digest(raw))
    return sum(len(digests) for digests in contents.values())


def stored(url):
    db = Database(url)
    try:
        with db.session() as s:
            return s.scalar(select(func.count(InboxMessage.id))), s.scalar(
                select(func.count(func.distinct(InboxMessage.message_id))))
    finally:
        db.dispose()


@pytest.mark.slow
def test_killed_import_resumes_and_a_rerun_imports_nothing(tmp_path, sqlite_url):
    corpus = real_data("corpus", "usrp-users-dev2k.mbox.gz")
    from tests.fixtures.database import make_settings

    rows = expected_rows(corpus)
    assert 1987 < rows < 1992

    settings = make_settings(tmp_path, sqlite_url)
    path = write_settings_file(tmp_path, settings)
    run_cli(path, "inbox", "list")  # create the schema before watching the table
    process = subprocess.Popen([sys.executable, "-m", "forumsync", "--settings", str(path), "import-mbox",
                                "--store-only", "--batch", "20", str(corpus)], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while stored(sqlite_url)[0] < 150:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    interrupted = stored(sqlite_url)[0]
    assert 150 <= interrupted < 1992

    resumed = run_cli(path, "import-mbox", "--store-only", "--batch", "20", corpus, timeout=600)
    assert resumed.returncode == 0, resumed.stderr.decode()
    err = resumed.stderr.decode()
    assert "reprise après" in err
    assert stored(sqlite_url) == (rows, rows)
    # at most one batch was read twice (after the last committed cursor), plus the 5 repeats
    duplicates = int(err.split(" doublon")[0].rsplit(", ", 1)[1].replace("\u00a0", ""))
    assert duplicates <= 20 + 5
    out = resumed.stdout.decode()
    assert "Bilan" in out and "en attente de traitement" in out

    again = run_cli(path, "import-mbox", "--store-only", corpus, timeout=600)
    assert again.returncode == 0
    assert "Rien de nouveau : 1\u00a0992 messages déjà importés" in again.stdout.decode()
    assert stored(sqlite_url) == (rows, rows)


def write_mbox(path, messages):
    with gzip.open(path, "wb") as f:
        for raw in messages:
            f.write(b"From someone@example.org Mon Mar  2 09:30:00 2026\n" + raw + b"\n")
    return path


def test_import_waits_for_the_pipeline_and_summarises(tmp_path, pipe):
    """Through the real pipeline into the local forum: the command returns when all is final."""
    mails = [make_mail(subject=f"Question {n} sur la SVE", message_id=f"<imp-{n}@meyzieu.fr>") for n in range(4)]
    mails.append(make_mail(subject="Réponse automatique : absent", message_id="<auto@x.fr>",
                           extra_headers={"Auto-Submitted": "auto-replied"}))
    mails.append(mails[0])  # the same message twice in the archive
    archive = write_mbox(tmp_path / "histoire.mbox.gz", mails)
    path = write_settings_file(tmp_path, pipe.ctx.settings)
    result = run_cli(path, "import-mbox", "--batch", "2", archive, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "Bilan : 6 messages lus" in out
    assert "publiés : 4" in out and "écartés : 1" in out and "doublons (déjà reçus) : 1" in out
    assert "en attente" not in out
    states = {row.message_id: row.state for row in pipe.rows()}
    assert states == {**{f"imp-{n}@meyzieu.fr": "published" for n in range(4)}, "auto@x.fr": "dropped"}
    again = run_cli(path, "import-mbox", archive)
    assert "Rien de nouveau : 6 messages déjà importés" in again.stdout.decode()


def test_progress_bar_shows_rate_and_eta_only_when_asked(tmp_path, sqlite_url):
    from tests.fixtures.database import make_settings

    archive = write_mbox(tmp_path / "p.mbox.gz", [make_mail(message_id=f"<p{n}@x>") for n in range(30)])
    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    quiet = run_cli(path, "import-mbox", "--store-only", "--limit", "10", archive)
    assert "o/s" not in quiet.stderr.decode()  # not a terminal: no bar
    forced = run_cli(path, "import-mbox", "--store-only", "--progress", archive)
    bar = forced.stderr.decode()
    assert "p.mbox.gz" in bar and "o/s" in bar and "<" in bar  # rate and [elapsed<remaining]
    assert "20 messages" in bar


def test_files_that_are_not_mbox_get_a_french_error(tmp_path, sqlite_url):
    from tests.fixtures.database import make_settings

    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    eml = tmp_path / "message.eml"
    eml.write_bytes(make_mail())
    result = run_cli(path, "import-mbox", "--store-only", eml)
    assert result.returncode == 1 and "aucun message trouvé" in result.stderr.decode()
    broken = tmp_path / "coupé.mbox.gz"
    broken.write_bytes(gzip.compress(b"From a@b Mon Mar  2 10:00:00 2026\n" + make_mail() * 50)[:300])
    result = run_cli(path, "import-mbox", "--store-only", broken)
    assert result.returncode == 1 and "lecture impossible" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    assert "archive compressée tronquée" in result.stderr.decode()


def test_damaged_gzip_is_a_french_error_not_a_traceback(tmp_path, sqlite_url):
    """Damaged deflate data raises zlib.error, which is no OSError: it used to escape as a
    traceback; the reason is French, Python's words only after « Python dit »."""
    from tests.fixtures.database import make_settings

    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    packed = bytearray(gzip.compress(b"".join(b"From a@b Mon Mar  2 10:00:00 2026\n" + make_mail(
        message_id=f"<z{n}@x>") for n in range(50))))
    for i in range(40, 60):
        packed[i] ^= 0x55
    damaged = tmp_path / "abîmé.mbox.gz"
    damaged.write_bytes(bytes(packed))
    result = run_cli(path, "import-mbox", "--store-only", damaged)
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err, err
    assert "lecture impossible, archive compressée endommagée" in err
    assert err.index("Python dit") > err.index("endommagée")


def test_forum_down_waits_then_gives_up_after_max_wait_with_75(tmp_path, sqlite_url):
    from tests.fixtures.database import free_port, make_settings

    settings = make_settings(tmp_path, sqlite_url, FORUM_URL=f"http://127.0.0.1:{free_port()}",
                             FORUM_RETRIES=0)
    path = write_settings_file(tmp_path, settings)
    archive = write_mbox(tmp_path / "a.mbox.gz", [make_mail(message_id=f"<w{n}@x>") for n in range(2)])
    result = run_cli(path, "import-mbox", "--max-wait", "1", archive)
    assert result.returncode == 75, result.stderr.decode()
    assert "En attente : 2 messages à traiter ou à réessayer" in result.stderr.decode()
    assert "en attente de traitement : 2" in result.stdout.decode()
    db = Database(sqlite_url)
    with db.session() as s:  # stored and scheduled for retry: nothing lost
        assert set(s.scalars(select(InboxMessage.state))) == {"retry"}
    db.dispose()


def test_import_publishes_in_batches_when_the_forum_takes_them(tmp_path, pipe):
    """A backlog goes to the plugin's batch endpoint: one request for these 12 messages (a
    reply threaded inside the batch), none through the single endpoint."""
    mails = [make_mail(subject=f"Question {n} sur la cantine", message_id=f"<lot-{n}@meyzieu.fr>")
             for n in range(11)]
    mails.append(make_mail(subject="Re: Question 3 sur la cantine", message_id="<lot-r@lyon.fr>",
                           sender="Paul Girard <paul@lyon.fr>", in_reply_to="<lot-3@meyzieu.fr>",
                           references="<lot-3@meyzieu.fr>"))
    archive = write_mbox(tmp_path / "lot.mbox.gz", mails)
    path = write_settings_file(tmp_path, pipe.ctx.settings)
    result = run_cli(path, "import-mbox", archive, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    assert "publiés : 12" in result.stdout.decode()
    log = pipe.localforum.requests
    assert log.count_of("POST", "/forumsync/posts/batch.json") == 1
    assert log.count_of("POST", "/forumsync/posts.json") == 0
    parent, reply = pipe.post_link("lot-3@meyzieu.fr"), pipe.post_link("lot-r@lyon.fr")
    assert (reply.topic_id, reply.post_number) == (parent.topic_id, 2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/PID/maps : Linux seulement")
def test_the_import_forks_its_pool_before_the_database_and_the_forum_client(tmp_path, pipe_any_db):
    """``import-mbox`` forks its pool first (pipeline.ahead_pool.fork_now): its pool process is
    its own child (no forkserver, no resource tracker) and maps none of SQLAlchemy's compiled
    modules, imported by the main side only after the fork; SQLite and PostgreSQL alike (the
    connections are opened after the fork)."""
    pipe = pipe_any_db
    import psutil

    from tests.fixtures.inbound import FORUMSYNC

    mails = [make_mail(subject=f"Sujet {n} sur l'état civil", message_id=f"<fork-{n}@meyzieu.fr>")
             for n in range(40)]
    archive = write_mbox(tmp_path / "fork.mbox.gz", mails)
    path = write_settings_file(tmp_path, pipe.ctx.settings.replace(PIPELINE_POOL_SIZE=1))
    process = subprocess.Popen(FORUMSYNC + ["--settings", str(path), "import-mbox", str(archive)], cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seen = {}
    try:
        main = psutil.Process(process.pid)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                for child in main.children(recursive=True):
                    maps = open(f"/proc/{child.pid}/maps").read()
                    seen[child.pid] = (child.ppid(), child.cmdline(), "sqlalchemy" in maps)
                if any(parent == process.pid for parent, _, _ in seen.values()):
                    main_maps = open(f"/proc/{process.pid}/maps").read()
                    if "sqlalchemy" in main_maps:  # the main side has imported it by now
                        break
            except (psutil.Error, OSError):
                pass
            time.sleep(0.01)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    assert "publiés : 40" in out.decode()
    assert len(seen) == 1, seen  # the pool process alone: no forkserver, no resource tracker
    (parent, cmdline, sqlalchemy), = seen.values()
    assert parent == process.pid and "import-mbox" in cmdline  # forked, not exec'd
    assert not sqlalchemy


def test_limit_zero_is_a_usage_error_not_a_false_diagnosis(tmp_path, sqlite_url):
    """Operator review: « --limit 0 » read nothing, then said « aucun message trouvé ; un
    fichier mbox commence par une ligne From… » about a good archive (exit 1)."""
    from tests.fixtures.database import make_settings

    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    archive = write_mbox(tmp_path / "bon.mbox", [make_mail(message_id="<l0@x>")])
    result = run_cli(path, "import-mbox", "--store-only", "--limit", "0", archive)
    err = result.stderr.decode()
    assert result.returncode == 2 and "--limit" in err and "aucun message trouvé" not in err, err


def test_gzip_whose_check_fails_is_not_called_a_bad_header(tmp_path, sqlite_url):
    """Red team, 49th pass: a gzip archive whose data fails its CRC (a bit flipped on disk or
    in transfer) raises BadGzipFile like a bad header, and was reported as « en-tête gzip
    invalide »: the operator looked at the wrong end of the file."""
    from tests.fixtures.database import make_settings

    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    packed = bytearray(gzip.compress(b"From a@b Mon Mar  2 10:00:00 2026\n" + make_mail(message_id="<crc@x>")))
    packed[-8] ^= 0xFF  # the CRC-32 in the trailer
    damaged = tmp_path / "crc.mbox.gz"
    damaged.write_bytes(bytes(packed))
    result = run_cli(path, "import-mbox", "--store-only", damaged)
    err = result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in err, err
    assert "en-tête" not in err and "contrôle d'intégrité gzip en échec" in err
    bad_header = tmp_path / "entete.mbox.gz"
    bad_header.write_bytes(b"\x1f\x8b\x07" + bytes(packed[3:]))  # compression method 7: unknown
    err = run_cli(path, "import-mbox", "--store-only", bad_header).stderr.decode()
    assert "en-tête gzip invalide" in err, err


def test_an_import_with_refused_messages_ends_with_65_and_says_why(tmp_path, sqlite_url):
    """51st pass: an import that refused messages (not mail, too big…) ended 0 like a clean
    one; a script could not tell without reading the French summary. It ends 65 (sysexits
    EX_DATAERR) with the count and where to look; a clean import still ends 0."""
    from tests.fixtures.database import make_settings

    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url))
    clean = write_mbox(tmp_path / "propre.mbox.gz", [make_mail(message_id="<ok-1@meyzieu.fr>")])
    result = run_cli(path, "import-mbox", "--store-only", clean)
    assert result.returncode == 0, result.stderr.decode()
    mixed = write_mbox(tmp_path / "mêlé.mbox.gz", [make_mail(message_id="<ok-2@meyzieu.fr>"),
                                                   b"juste du texte, sans aucun en-tete\n"])
    result = run_cli(path, "import-mbox", "--store-only", mixed)
    err = result.stderr.decode()
    assert result.returncode == 65, err
    assert "refusés : 1" in result.stdout.decode()
    assert "Import terminé, mais 1 message refusé" in err and "code de sortie 65" in err
    assert "Traceback" not in err
