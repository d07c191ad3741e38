"""The local forum in the test process, one fresh SQLite file each.

The app is served by a werkzeug thread on 127.0.0.1 (port 0) for other processes (forumsync
commands, a browser, Mailman). With ``in_process=True`` (the test fixture's choice, see
tests/fixtures/localforum.py) requests from this process (the gateway, pydiscourse,
``requests.get``) reach the app in-process through ``forumsync.testing.inprocess`` (no
socket: nothing to prove there); by default (benchmarks) they go through the socket too.
A stopped forum refuses connections.

Two costs of a forum's start are paid once per process instead of once per test: its
schema and default rows are built into a template file that each forum copies, and its
Flask app (compiling 122 URL rules) is kept when the forum stops and given a fresh
``LocalForum`` by the next one (``_AppPool``).
See docs/CONTRACTS.md ("The local forum") for what RunningForum offers.
"""
from __future__ import annotations

import contextlib
import itertools
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from forumsync.localforum import categories as lf_categories, groups as lf_groups, users as lf_users
from forumsync.localforum.app import create_localforum_app
from forumsync.testing import inprocess
from forumsync.testing.settings import make_settings

API_KEY = "test-api-key-0123456789"
API_USERNAME = "system"
WEBHOOK_SECRET = "test-webhook-secret"
_counter = itertools.count(1)
_templates: dict[str, Path] = {}
_templates_lock = threading.Lock()


def _store_template(admin_username: str) -> Path:
    """A local forum database with its tables, default rows and admin, made once per process."""
    with _templates_lock:
        path = _templates.get(admin_username)
        if path is None:
            folder = Path(tempfile.mkdtemp(prefix="localforum-template-"))
            path = folder / "template.sqlite3"
            settings = make_settings(folder, f"sqlite:///{folder / 'unused.sqlite3'}",
                                     FORUM_API_KEY=API_KEY, FORUM_API_USERNAME=admin_username,
                                     LOCALFORUM_DATABASE_URL=f"sqlite:///{path}")
            # The whole app, not only LocalForum: blueprints create tables when registered
            # (the plugin's message-id table), and a reused app registers nothing again.
            app = create_localforum_app(settings, webhook_url=None, rate_limit=0, start=False)
            app.extensions["localforum"].close()
            _apps.give_back(app)
            _templates[admin_username] = path
        return path


class _AppPool:
    """Flask apps of stopped forums, ready for the next forum of this process.

    A reused app gets a new forum by running ``LocalForum.__init__`` again on the object the
    app holds (``app.extensions["localforum"]``, also captured by its request hooks): new
    settings, database, webhook deliverer, limiter, faults — nothing of the last test is left.
    """

    def __init__(self):
        self._idle: list = []
        self._lock = threading.Lock()

    def take(self, settings, webhook_url, rate_limit, from_template: bool):
        """An app serving a new forum; a reused one only on a copy of the template database,
        which has the tables its blueprints created when first registered."""
        with self._lock:
            app = self._idle.pop() if self._idle and from_template else None
        if app is None:
            return create_localforum_app(settings, webhook_url=webhook_url, rate_limit=rate_limit,
                                         start=False)
        app.config.update(SECRET_KEY=settings.SECRET_KEY)
        app.extensions["localforum"].__init__(settings, webhook_url=webhook_url,
                                              rate_limit=rate_limit)
        return app

    def give_back(self, app) -> None:
        with self._lock:
            self._idle.append(app)


_apps = _AppPool()


def _hold(port: int):
    """A socket bound to 127.0.0.1:PORT without listening (connections to it are refused), or
    None if the port could not be taken back."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", port))
    except OSError:
        holder.close()
        return None
    return holder


class RunningForum:
    """A local forum served in-process (and by a werkzeug thread); stop() shuts everything down."""

    def __init__(self, tmp_path, webhook_url=None, rate_limit=60, in_process=False, **overrides):
        number = next(_counter)
        self.database_url = f"sqlite:///{tmp_path / f'localforum-{number}.sqlite3'}"
        self.api_key = API_KEY
        self.username = API_USERNAME
        self.webhook_secret = WEBHOOK_SECRET
        values = dict(FORUM_URL="http://127.0.0.1:1", FORUM_API_KEY=API_KEY,
                      FORUM_API_USERNAME=API_USERNAME, FORUM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      LOCALFORUM_DATABASE_URL=self.database_url)
        values.update(overrides)
        from_template = values["LOCALFORUM_DATABASE_URL"] == self.database_url
        if from_template:  # a new file: copy the template
            shutil.copyfile(_store_template(values["FORUM_API_USERNAME"]),
                            tmp_path / f"localforum-{number}.sqlite3")
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'forumsync.sqlite3'}", **values)
        self.app = _apps.take(settings, webhook_url, rate_limit, from_template)
        self.forum = self.app.extensions["localforum"]
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.forum.settings = settings.replace(FORUM_URL=self.url)
        self.forum.deliverer.instance = self.url
        self.settings_overrides = dict(FORUM_URL=self.url, FORUM_API_KEY=API_KEY,
                                       FORUM_API_USERNAME=API_USERNAME,
                                       FORUM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                                       LOCALFORUM_DATABASE_URL=self.database_url)
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        name="localforum", daemon=True)
        self._stopped = False
        self._port_holder = None
        self._thread.start()
        self.in_process = in_process
        if in_process:
            inprocess.route(self.url, self.app)
        self.forum.start()

    # -- what tests look at
    @property
    def faults(self):
        return self.forum.faults

    @property
    def requests(self):
        return self.forum.faults.requests

    @property
    def webhooks_sent(self) -> list[dict]:
        return self.forum.deliverer.sent

    def set_webhook_url(self, url) -> None:
        """Send webhooks to URL from now on (events queued before are delivered too)."""
        self.forum.deliverer.set_url(url)

    def wait_webhooks(self, timeout: float = 10.0, patience: float = 90.0) -> list[dict]:
        """Wait until every queued webhook was delivered (or gave up); returns webhooks_sent.

        TIMEOUT is also the horizon: an attempt due later than TIMEOUT seconds from now (a
        retry far away) is not waited for. While attempts are still due or in flight (a
        loaded machine delivers slowly), keep waiting, up to PATIENCE seconds in all."""
        deadline = time.monotonic() + max(timeout, patience)
        while not self.forum.deliverer.wait_idle(timeout):
            if time.monotonic() >= deadline:
                raise AssertionError("webhooks still pending after %s s" % max(timeout, patience))
        return self.webhooks_sent

    @contextlib.contextmanager
    def session(self):
        """A committed transaction on the forum's own database (models in
        forumsync.localforum.models, helpers in its resource modules: users, groups, categories…)."""
        with self.forum.store.session() as session:
            yield session

    # -- conveniences
    def create_user(self, username, email, name=None, admin=False, moderator=False,
                    staged=False, **kw) -> dict:
        with self.session() as s:
            user = lf_users.create_user(s, username, email, name, admin=admin,
                                        moderator=moderator, staged=staged, **kw)
            return {"id": user.id, "username": user.username, "email": user.email,
                    "name": user.name, "staged": user.staged}

    def create_category(self, name, slug=None, parent=None, **kw) -> dict:
        """PARENT: a category id or name."""
        with self.session() as s:
            parent_id = parent
            if isinstance(parent, str):
                from sqlalchemy import select

                from forumsync.localforum.models import Category

                parent_id = s.scalar(select(Category.id).where(Category.name == parent))
            category = lf_categories.create_category(s, name, slug=slug, parent_category_id=parent_id, **kw)
            return {"id": category.id, "name": category.name, "slug": category.slug,
                    "parent_category_id": category.parent_category_id}

    def create_group(self, name, usernames=(), owners=(), **kw) -> dict:
        with self.session() as s:
            group = lf_groups.create_group(s, name, **kw)
            lf_groups.add_group_members(s, group, [lf_users.user_by_username(s, u) for u in usernames])
            lf_groups.add_group_members(s, group, [lf_users.user_by_username(s, u) for u in owners],
                                        owner=True)
            return {"id": group.id, "name": group.name}

    def set_site_setting(self, name, value) -> None:
        from forumsync.localforum import sitesettings

        with self.session() as s:
            sitesettings.set_value(s, name, value)

    def headers(self, username=None) -> dict:
        return {"Api-Key": self.api_key, "Api-Username": username or self.username}

    def client(self, username=None):
        """A pydiscourse client acting as USERNAME (default: the admin)."""
        from pydiscourse import DiscourseClient

        return DiscourseClient(self.url, api_username=username or self.username,
                               api_key=self.api_key, timeout=10)

    def stop(self) -> None:
        """Shut the forum down; its port stays taken (bound, not listening) until ``release``:
        a request to it is refused, as by a forum that is down, and no server of another test
        process can be given that port meanwhile and answer in its place (a "forum down" test
        once got a "retry"-less answer under load)."""
        self._stop(hold_port=True)

    def _stop(self, hold_port: bool) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.forum.faults.clear()  # lets requests held by Faults.hold finish
        inprocess.unroute(self.url)
        port = self.server.server_port
        self.server.shutdown()
        self.server.server_close()
        if hold_port:
            self._port_holder = _hold(port)
        self._thread.join(timeout=10)
        self.forum.close()

    def release(self) -> None:
        """stop(), and hand the Flask app to the next forum of this process: this object's
        ``forum`` is then someone else's (the fixture calls it when the test is over)."""
        self._stop(hold_port=False)
        holder, self._port_holder = self._port_holder, None
        if holder is not None:
            holder.close()
        if self.app is not None:
            _apps.give_back(self.app)
            self.app = None
