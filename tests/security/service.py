"""The service as an attacker meets it: mail handed to the real LMTP socket, the real worker
task, the local forum over HTTP, and `forumsync inbox list` as a subprocess for the operator's
view. Import the ``service`` / ``bridge_service`` fixtures into a test module to use them."""
from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from forumsync.inbound.lmtp import start_lmtp_server
from forumsync.localforum import posts as lf_posts, users as lf_users
from forumsync.localforum.models import Post, Topic
from forumsync.mail.ids import normalize_message_id
from forumsync.models import InboxMessage, OutboxMail
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_pipe

LIST = "club@listes.example.org"


class Service:
    def __init__(self, tmp_path, db_url, localforum, plugin=True, **overrides):
        self.tmp_path = tmp_path
        self.forum = localforum
        self.ctx, self.pipe = make_pipe(tmp_path, db_url, localforum, plugin=plugin, **overrides)
        self.themes = self.pipe.provision()
        self.lmtp = start_lmtp_server(self.ctx)

    # -- the attacker's side
    def deliver(self, raw: bytes, rcpt: str = LIST) -> InboxMessage:
        """Hand RAW to the LMTP socket (as the list's MTA would), run the worker, return its row."""
        with smtplib.LMTP("127.0.0.1", self.lmtp.port) as client:
            refused = client.sendmail("bounces@listes.example.org", [rcpt], raw)
        assert refused == {}, refused
        self.pipe.run()
        message_id = normalize_message_id(_header(raw, b"Message-ID"))
        with self.ctx.db.session() as session:
            return session.scalar(select(InboxMessage).where(InboxMessage.message_id == message_id))

    # -- what ends up where
    def posts(self, topic_id=None) -> list[Post]:
        with self.forum.session() as s:
            query = select(Post).order_by(Post.id)
            if topic_id is not None:
                query = query.where(Post.topic_id == topic_id)
            posts = list(s.scalars(query))
            s.expunge_all()
            return posts

    def post(self, post_id) -> Post:
        with self.forum.session() as s:
            post = s.get(Post, post_id)
            s.expunge(post)
            return post

    def topic(self, topic_id) -> Topic:
        with self.forum.session() as s:
            topic = s.get(Topic, topic_id)
            s.expunge(topic)
            return topic

    def outbox(self) -> list[OutboxMail]:
        with self.ctx.db.session() as s:
            rows = list(s.scalars(select(OutboxMail).order_by(OutboxMail.id)))
            s.expunge_all()
            return rows

    def inbox_list(self) -> str:
        """What the operator reads: `forumsync inbox list` in a real subprocess."""
        path = write_settings_file(self.tmp_path, self.ctx.settings)
        done = run_cli(path, "inbox", "list", "--limit", "100")
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def inbox_show(self, inbox_id) -> str:
        """`forumsync inbox show ID` (the full reason) in a real subprocess."""
        path = write_settings_file(self.tmp_path, self.ctx.settings)
        done = run_cli(path, "inbox", "show", inbox_id)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    # -- forum-side setup, as staff would do it
    def staff_post(self, raw, *, topic_id=None, title=None, category_id=None, whisper=False,
                   private_to=None, username="system") -> Post:
        with self.forum.session() as s:
            user = lf_users.user_by_username(s, username)
            kwargs = dict(title=title, category_id=category_id, topic_id=topic_id,
                          post_type=4 if whisper else 1)
            if private_to:
                kwargs.update(archetype="private_message", target_recipients=private_to)
            post = lf_posts.create_post(s, user, raw, **kwargs)
            s.flush()
            s.expunge(post)
            return post

    def move_topic(self, topic_id, category_id) -> None:
        self.ctx.forum.topic_update(topic_id, category_id=category_id)

    def close(self):
        self.lmtp.stop()
        self.ctx.close()


def _header(raw: bytes, name: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(name.lower() + b":"):
            return line.split(b":", 1)[1].strip().decode()
        if not line.strip():
            break
    return ""


@pytest.fixture
def service(tmp_path, sqlite_url, localforum):
    env = Service(tmp_path, sqlite_url, localforum)
    yield env
    env.close()


@pytest.fixture
def service_any_db(tmp_path, db_url, localforum):
    env = Service(tmp_path, db_url, localforum)
    yield env
    env.close()


@pytest.fixture
def bridge_service(tmp_path, sqlite_url, localforum):
    """Same, on a forum without the plugin (posts by the bridge account with attribution)."""
    env = Service(tmp_path, sqlite_url, localforum, plugin=False)
    yield env
    env.close()
