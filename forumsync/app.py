"""The Flask application factory (flaskr style): one blueprint per area."""
from __future__ import annotations

import importlib

from flask import Flask

from .context import Context
from .settings import Settings, load_settings

# (module, attribute) of each blueprint, one per area.
BLUEPRINTS = (
    ("forumsync.forum.webhooks", "bp"),
    ("forumsync.inbound.http", "bp"),
    ("forumsync.web.dashboard", "bp"),
)


def create_app(settings: Settings | None = None, context: Context | None = None) -> Flask:
    if context is None:
        context = Context(settings or load_settings())
    settings = context.settings
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.SECRET_KEY, MAX_CONTENT_LENGTH=settings.MAX_MESSAGE_BYTES + 65536)
    app.extensions["forumsync"] = context
    for module_name, attribute in BLUEPRINTS:
        app.register_blueprint(getattr(importlib.import_module(module_name), attribute))
    from .web import errors, headers

    errors.register(app)  # French error pages (HTML, or JSON for /inbound/ and /webhooks/)
    headers.register(app, settings.WEB_URL)  # CSP, frame and sniffing protection, HSTS on https

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def current_context() -> Context:
    from flask import current_app

    return current_app.extensions["forumsync"]
