"""End to end with a real GNU Mailman 3: forum post → forumsync → Mailman (LMTP) → a member's
mailbox (SMTP sink); Mailman's copy coming back through the archiver (HTTP inbound) creates no
post; a member's reply through Mailman lands in the same topic."""
import email
import email.utils
import time
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from forumsync.localforum.models import Post
from forumsync.models import InboxMessage
from forumsync.pipeline.runner import run_pending as run_pipeline
from tests.fixtures.outbound import Bridge
from tests.waiting import wait_until as wait_for

pytestmark = pytest.mark.mailman

LIST = "club@listes.example.org"


def delivered(mailman, rcpt, message_id):
    for envelope, raw in mailman.outgoing:
        if rcpt in envelope.rcpt_tos:
            msg = email.message_from_bytes(raw, policy=policy.default)
            if str(msg["Message-ID"]) == message_id:
                return msg
    return None


def inbox_row(bridge, message_id):
    with bridge.ctx.db.session() as s:
        return s.scalars(select(InboxMessage).where(InboxMessage.message_id == message_id)).first()


def forum_posts(bridge):
    with bridge.forum.session() as s:
        return s.scalar(select(func.count(Post.id)))


def drain_pipeline(bridge):
    while run_pipeline(bridge.ctx, "test"):
        pass


def test_forum_post_through_mailman_and_back(tmp_path, sqlite_url, make_localforum, smtp_sink,
                                             mailman):
    bridge = Bridge(tmp_path, sqlite_url, make_localforum, smtp_sink,
                    web_port=mailman.forumsync_port, INBOUND_TOKEN=mailman.token,
                    SMTP_URL=f"lmtp://127.0.0.1:{mailman.lmtp_port}", LIST_ADDRESS=LIST)
    try:
        bridge.settings.BRIDGE_ADDRESS
        mailman.create_list(LIST, members=["paul@grandlyon.fr", "marie.dupre@meyzieu.fr",
                                           bridge.settings.BRIDGE_ADDRESS])
        # 1. a post on the forum reaches a member's mailbox through Mailman
        first = bridge.topic("marie", "Dématérialisation des AR SVE",
                             "Bonjour, comment dématérialisez-vous les **accusés de réception** ?")
        bridge.process()
        our_id = f"<discourse/post/{first['id']}@127.0.0.1>"
        received = wait_for(lambda: delivered(mailman, "paul@grandlyon.fr", our_id), 90,
                            "la distribution par Mailman")
        assert "Dématérialisation des AR SVE" in received["Subject"]
        assert received["From"].addresses[0].display_name == "marie - Marie Dupré (via Bistro)"
        assert received["X-Forumsync"] and received["List-Id"]
        assert "accusés de réception" in received.get_body(("plain",)).get_content()
        assert "Répondre sur Bistro" in received.get_body(("plain",)).get_content()

        # 2. Mailman's copy comes back through the archiver (HTTP inbound): no post
        posts_before = forum_posts(bridge)
        echo = wait_for(lambda: inbox_row(bridge, our_id.strip("<>")), 90, "l'écho via l'archiveur")
        drain_pipeline(bridge)
        echo = inbox_row(bridge, our_id.strip("<>"))
        assert echo.state == "dropped", echo.reason
        assert forum_posts(bridge) == posts_before

        # 3. a member answers the mail he received: the answer lands in the same topic
        reply = EmailMessage()
        reply["From"] = "Paul Martin <paul@grandlyon.fr>"
        reply["To"] = LIST
        reply["Subject"] = "Re: " + str(received["Subject"])
        reply["Date"] = email.utils.format_datetime(email.utils.localtime())
        reply["Message-ID"] = reply_id = email.utils.make_msgid("paul", "grandlyon.fr")
        reply["In-Reply-To"] = str(received["Message-ID"])
        reply["References"] = str(received["Message-ID"])
        reply.set_content("Bonjour Marie,\n\nNous les envoyons par courriel depuis 2023.\n\nPaul\n")
        mailman.post(reply.as_bytes(), sender="paul@grandlyon.fr")
        wait_for(lambda: inbox_row(bridge, reply_id.strip("<>")), 90, "la réponse via l'archiveur")
        drain_pipeline(bridge)
        row = inbox_row(bridge, reply_id.strip("<>"))
        assert row.state == "published", row.reason
        assert row.topic_id == first["topic_id"]
        post = bridge.gateway().post_get(row.post_id)
        assert post["username"] == "paul" and "2023" in post["raw"]

        # 4. that post's webhook is not sent back to the list. Mailman may still be distributing
        # Paul's own mail to the members, so look for the forum copy by its Message-ID rather
        # than counting outgoing mail.
        bridge.process()
        assert bridge.event_for(row.post_id).state == "skipped"
        time.sleep(1.0)  # negative check (no echo reaches Mailman): a short fixed time is enough
        echo_id = f"<discourse/post/{row.post_id}@"
        assert not [raw for _, raw in mailman.outgoing if echo_id.encode() in raw]
        # the check sees Mailman's mail: Paul's own reply does reach Marie
        wait_for(lambda: delivered(mailman, "marie.dupre@meyzieu.fr", reply_id), 90,
                 "la distribution de la réponse")
        assert not [raw for _, raw in mailman.outgoing if echo_id.encode() in raw]
    finally:
        bridge.close()
