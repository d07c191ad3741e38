"""A bounded LMTP client run as its own process: ``python -m forumsync.testing.lmtp_client``.

Sends COUNT generated messages over CONCURRENCY connections as fast as the server takes them
and writes a JSON report: which Message-IDs got a 250 (``acked``), how many attempts, refusals,
and timings. With ``--retry-for S`` a message that got no 250 (connection lost, 4xx) is sent
again until S seconds have passed: what an MTA does, so a crash of the server must not
create duplicates.
"""
from __future__ import annotations

import argparse
import json
import queue
import smtplib
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone

LIST = "club@listes.example.org"


def make_message(prefix: str, index: int) -> tuple[str, bytes]:
    """The INDEX-th generated message: (Message-ID without <>, raw bytes)."""
    message_id = f"{prefix}-{index}@load.example.org"
    msg = EmailMessage()
    msg["From"] = f"Abonné {index % 37} <abonne{index % 37}@commune{index % 11}.fr>"
    msg["To"] = LIST
    msg["Subject"] = f"[club-publik] Charge {prefix} n° {index // 4}"
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc))
    msg["Message-ID"] = f"<{message_id}>"
    if index % 4:
        parent = index - (index % 4)
        msg["In-Reply-To"] = f"<{prefix}-{parent}@load.example.org>"
        msg["References"] = f"<{prefix}-{parent}@load.example.org>"
    msg.set_content(f"Bonjour,\n\nMessage de charge {index} : la saisine par voie électronique "
                    f"fonctionne-t-elle chez vous ?\n\nCordialement,\nAbonné {index % 37}\n")
    return message_id, msg.as_bytes()


def run(host, port, count, concurrency, prefix, retry_for, start=0):
    todo: queue.Queue = queue.Queue()
    for index in range(start, start + count):
        todo.put(index)
    acked: dict[str, str] = {}
    refused: dict[str, str] = {}
    attempts = [0]
    errors: list[str] = []
    first_ack_at = [None]  # wall clock (time.time()): comparable with the test process's
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + retry_for

    def worker():
        connection = None
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                break
            message_id, raw = make_message(prefix, index)
            try:
                if connection is None:
                    connection = smtplib.LMTP(host, port, timeout=30)
                    connection.ehlo("load.example.org")
                with lock:
                    attempts[0] += 1
                connection.sendmail("abonne@commune.fr", [LIST], raw)
                with lock:
                    acked[message_id] = "250"
                    first_ack_at[0] = first_ack_at[0] or time.time()
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0]
                if 400 <= code < 500 and time.monotonic() < deadline:
                    todo.put(index)
                else:
                    with lock:
                        refused[message_id] = str(exc.recipients)
            except smtplib.SMTPResponseException as exc:
                if 400 <= exc.smtp_code < 500 and time.monotonic() < deadline:
                    todo.put(index)
                    _close(connection)
                    connection = None
                    time.sleep(0.1)
                else:
                    with lock:
                        refused[message_id] = f"{exc.smtp_code} {exc.smtp_error!r}"
            except (OSError, smtplib.SMTPException) as exc:
                # the server went away: no 250, so the message is ours to send again
                _close(connection)
                connection = None
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                if time.monotonic() < deadline:
                    todo.put(index)
                    time.sleep(0.1)
                else:
                    with lock:
                        refused[message_id] = f"abandon : {exc!r}"
        _close(connection, quit=True)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"acked": sorted(acked), "refused": refused, "attempts": attempts[0],
            "errors": len(errors), "first_errors": errors[:5], "elapsed": elapsed,
            "first_ack_at": first_ack_at[0],
            "rate": len(acked) / elapsed if elapsed else 0.0}


def _close(connection, quit=False):
    if connection is None:
        return
    try:
        connection.quit() if quit else connection.close()
    except Exception:  # noqa: BLE001 - the server may be gone
        connection.close()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--prefix", default="load")
    parser.add_argument("--retry-for", type=float, default=0.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    report = run(args.host, args.port, args.count, args.concurrency, args.prefix, args.retry_for,
                 args.start)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(report, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
