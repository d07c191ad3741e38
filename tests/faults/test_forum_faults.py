"""The forum misbehaving (500, timeouts, 429 Retry-After, down entirely) while forumsync's
separate processes (LMTP server, worker, import-mbox) talk to it over HTTP: after recovery
every acknowledged message is published exactly once and nothing is left stuck."""
from __future__ import annotations

import mailbox

import pytest

from tests.fixtures.database import free_port
from forumsync.testing.lmtp_client import make_message

from tests.waiting import wait_until as _wait

from .common import Rig

# The rig's forum stands for one whose operator raised DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE
# (forumsync paces itself under it, see forumsync/testing/rig.py); Discourse's 60/min is tested apart.
pytestmark = pytest.mark.admin_api_limit(6000)

# Each fault hits the next few requests: more than one request, fewer than the gateway's
# retries. Counted, not timed: a fault lasting N seconds could expire on a loaded machine
# before the worker (or the import process, still starting) sent anything.
FAULTS = {
    "500": lambda forum: forum.faults.fail(500, count=4),
    # FORUM_TIMEOUT is 2 s: 5 s keeps the answer far behind it under load (2.5x)
    "timeout": lambda forum: forum.faults.slow(5.0, count=2),
    "429": lambda forum: forum.faults.rate_limit(retry_after=2, count=2),
}
FAULT_HITS = {"500": 4, "timeout": 2, "429": 2}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_forum_fault_during_live_lmtp_traffic(kind, tmp_path, procs, make_localforum):
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides)
    rig.provision()
    rig.start_lmtp()
    rig.start_worker()
    count = 60
    client = rig.client(count, f"live-{kind}", concurrency=3)
    _wait(lambda: rig.states()["published"] >= 5, 60, "first messages published")
    fault = FAULTS[kind](forum)
    # every faulty answer given (a slowed write has landed) before counting what the forum holds
    assert fault.wait_finished(FAULT_HITS[kind], 120), "the fault was never hit"
    result = client.result(120)
    assert not result["refused"], result["refused"]
    assert len(result["acked"]) == count
    rig.wait_drained(count, 120)
    rig.check_exactly_once(count, result["acked"], f"forum {kind} pendant le trafic LMTP")
    assert rig.worker.alive() and rig.lmtp.alive()


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_forum_fault_during_mbox_import(kind, tmp_path, procs, make_localforum):
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides)
    rig.provision()
    count = 30
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(str(path))
    ids = []
    for index in range(count):
        message_id, raw = make_message(f"mbox-{kind}", index)
        box.add(mailbox.mboxMessage(raw))
        ids.append(message_id)
    box.close()
    fault = FAULTS[kind](forum)
    importer = procs.start("import-mbox", ["import-mbox", "--no-progress", str(path)],
                           rig.settings_path, wait=False)
    code = importer.popen.wait(180)
    assert code == 0, importer.output()[-3000:]
    # every faulty answer given (a slowed write has landed) before counting what the forum holds
    assert fault.wait_finished(FAULT_HITS[kind], 60), "the fault was never hit"
    rig.wait_drained(count, 30)
    rig.check_exactly_once(count, ids, f"forum {kind} pendant import-mbox")
    # a second run imports nothing
    again = procs.start("import-mbox-2", ["import-mbox", "--no-progress", str(path)],
                        rig.settings_path, wait=False)
    assert again.popen.wait(60) == 0
    rig.check_exactly_once(count, ids, f"forum {kind} : second import")


def test_forum_down_then_back(tmp_path, procs):
    """The forum process killed (-9) during live traffic, restarted on the same port with the
    same database: messages wait in `retry`, then are all published once."""
    from tests.fixtures.localforum import API_KEY, API_USERNAME, WEBHOOK_SECRET

    port = free_port()
    overrides = dict(FORUM_URL=f"http://127.0.0.1:{port}", FORUM_API_KEY=API_KEY,
                     FORUM_API_USERNAME=API_USERNAME, FORUM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                     LOCALFORUM_DATABASE_URL=f"sqlite:///{tmp_path / 'forum.sqlite3'}")
    # One message a forum call: traffic is still in flight when the forum dies.
    rig = Rig(tmp_path, procs, overrides, FORUM_RETRIES=2, INBOX_BATCH_THRESHOLD=1000)
    forum = procs.start("localforum", ["localforum", "--no-webhooks"], rig.settings_path, port=port)
    rig.provision()
    rig.start_lmtp()
    rig.start_worker()
    count = 40
    client = rig.client(count, "down", concurrency=2)
    _wait(lambda: rig.states()["published"] >= 8, 60, "first messages published")
    forum.kill()
    result = client.result(120)
    assert len(result["acked"]) == count, "LMTP must keep accepting while the forum is down"
    _wait(lambda: rig.states()["retry"] >= 1, 60, "messages waiting for the forum")
    down_states = dict(rig.states())
    forum.start()
    states = rig.wait_drained(count, 150)
    figures = rig.check_exactly_once(count, result["acked"], "forum arrêté puis relancé")
    print(f"[figures] forum arrêté : états pendant la panne {down_states}")
    assert figures.published == count and states["published"] == count
    assert rig.worker.alive()


def test_forum_dying_mid_answer_is_transient_not_a_bug():
    """A forum process killed while it answers leaves a truncated body: the gateway must report
    it as unavailable (retry later), not as an unexpected error (quarantine). Found by
    test_forum_down_then_back: requests' ChunkedEncodingError was not caught."""
    import socket
    import threading

    from forumsync.forum.gateway import ForumGateway, ForumUnavailable

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    served = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                         b"Content-Length: 100\r\n\r\n{\"post\":")
            served.append(1)  # counted before close: the client may retry as soon as it closes
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        gw = ForumGateway(f"http://127.0.0.1:{port}", "k", "system", timeout=2, retries=1)
        gw.backoff = 0.01
        with pytest.raises(ForumUnavailable):
            gw.post_get(1)
        assert len(served) == 2  # retried once
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        listener.close()
        thread.join(5)
