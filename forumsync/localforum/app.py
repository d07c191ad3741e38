"""``create_localforum_app(settings)``: the Discourse-compatible forum as a Flask app.

One ``LocalForum`` object (store, webhook deliverer, rate limiter, faults) lives in
``app.extensions["localforum"]``; ``close()`` stops its webhook thread and engine.
"""
from __future__ import annotations

import importlib
import re

from flask import Flask, g, redirect, request
from werkzeug.exceptions import HTTPException

from . import users
from .errors import ApiError, NOT_FOUND, forbidden
from .http import json_response
from .limits import Faults, RateLimiter, rate_limit_body
from .newposts import UserLimits
from .store import LocalForumStore
from .webhooks import WebhookDeliverer

API_BLUEPRINTS = ("api_categories", "api_topics", "api_users", "api_groups", "api_site",
                  "api_webhooks")
PLUGIN_MODULE = "forumsync.localforum.plugin_api"
# Paths served without API authentication: the HTML UI, its static files, uploaded files.
PUBLIC = re.compile(r"^/(?:$|ui(?:/|$)|static/|uploads/default/|uploads/short-url/|healthz$|favicon)")
_DEFAULT = object()


class LocalForum:
    """Everything the running forum needs besides Flask itself."""

    def __init__(self, settings, webhook_url=_DEFAULT, rate_limit: int | None = None):
        self.settings = settings
        self.store = LocalForumStore(settings.LOCALFORUM_DATABASE_URL)
        self.api_key = settings.FORUM_API_KEY
        self.admin_username = settings.FORUM_API_USERNAME
        url = settings.LOCALFORUM_WEBHOOK_URL if webhook_url is _DEFAULT else webhook_url
        self.deliverer = WebhookDeliverer(self.store, url or None, settings.FORUM_WEBHOOK_SECRET,
                                          settings.FORUM_URL)
        self.limiter = RateLimiter(settings.LOCALFORUM_RATE_LIMIT if rate_limit is None else rate_limit)
        self.faults = Faults()
        self.user_limits = UserLimits()  # per-user post/topic creation limits
        self.ensure_admin()

    def ensure_admin(self) -> None:
        with self.store.session() as session:
            user = users.user_by_username(session, self.admin_username)
            if user is None:
                users.create_user(session, self.admin_username,
                                  f"{self.admin_username}@localforum.invalid",
                                  "Administrateur", admin=True, trust_level=4)
            elif not user.admin:
                user.admin = True

    def start(self) -> None:
        self.deliverer.start()

    def close(self) -> None:
        self.deliverer.stop()
        self.store.dispose()


def create_localforum_app(settings, *, webhook_url=_DEFAULT, rate_limit: int | None = None,
                          start: bool = True) -> Flask:
    """The app; WEBHOOK_URL None disables webhooks (default: LOCALFORUM_WEBHOOK_URL)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.SECRET_KEY, MAX_CONTENT_LENGTH=64 * 1024 * 1024,
                      JSON_AS_ASCII=False)
    forum = LocalForum(settings, webhook_url=webhook_url, rate_limit=rate_limit)
    app.extensions["localforum"] = forum
    for name in API_BLUEPRINTS + ("ui",):
        module = importlib.import_module(f"forumsync.localforum.{name}")
        app.register_blueprint(module.bp)
    try:
        plugin = importlib.import_module(PLUGIN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != PLUGIN_MODULE:
            raise
    else:
        app.register_blueprint(plugin.bp)
    _install_hooks(app, forum)
    if start:
        forum.start()
    return app


def _install_hooks(app: Flask, forum: LocalForum) -> None:
    @app.before_request
    def faults_and_auth():
        if request.path.startswith("/static/"):
            return None
        fault = forum.faults.record(request.method, request.path)
        g.fault = fault
        if fault is not None:
            if fault.held:
                fault.wait_released()
            if fault.delay:
                import time

                time.sleep(fault.delay)
            if fault.status == 429:
                wait = 1 if fault.retry_after is None else fault.retry_after
                return json_response(rate_limit_body(wait), 429, {
                    "Retry-After": str(wait),
                    "Discourse-Rate-Limit-Error-Code": "admin_api_key_rate_limit"})
            if fault.status:
                return json_response({"errors": ["Erreur simulée (injection de panne)"],
                                      "error_type": "server_error"}, fault.status)
        browser = _browser_redirect()
        if browser is not None:
            return browser
        if PUBLIC.match(request.path):
            return None
        if request.headers.get("Api-Key") != forum.api_key:
            raise forbidden()
        # DefaultCurrentUserProvider#current_user: every request with a valid API key counts
        # against one site-wide limiter ("admin_api_min"), whichever key and username.
        wait = forum.limiter.check("admin_api_min")
        if wait is not None:
            return json_response(rate_limit_body(wait), 429, {
                "Retry-After": str(wait),
                "Discourse-Rate-Limit-Error-Code": "admin_api_key_rate_limit"})
        g.api_username = request.headers.get("Api-Username") or forum.admin_username
        return None

    @app.teardown_request
    def fault_finished(_exc):
        fault = g.pop("fault", None)
        if fault is not None:
            fault.mark_finished()

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return json_response(exc.body(), exc.status, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if PUBLIC.match(request.path) and exc.code != 404 or request.path.startswith("/ui"):
            return exc
        if exc.code in (404, 405):
            return json_response({"errors": [NOT_FOUND], "error_type": "not_found"}, 404)
        return json_response({"errors": [exc.description or exc.name]}, exc.code or 500)


def _browser_redirect():
    """A browser opening /t/slug/42 or /c/slug/3 (Discourse URLs in emails) gets the UI page."""
    if request.method != "GET" or request.headers.get("Api-Key") or request.path.endswith(".json"):
        return None
    if "text/html" not in request.headers.get("Accept", ""):
        return None
    match = re.match(r"^/t/(?:[^/]+/)?(\d+)(?:/(\d+))?/?$", request.path)
    if match:
        return redirect(f"/ui/t/{match.group(1)}", 302)
    match = re.match(r"^/c/(?:.+/)?(\d+)/?$", request.path)
    if match:
        return redirect(f"/ui/c/{match.group(1)}", 302)
    return None
