"""`forumsync localforum`: serve the Discourse-compatible local forum on FORUM_URL's host:port."""
from __future__ import annotations

from urllib.parse import urlsplit

import click

from .terminal import listen_error, say



@click.command("localforum")
@click.option("--no-webhooks", is_flag=True, help="N'envoie pas de webhooks.")
@click.pass_obj
def localforum(obj, no_webhooks):
    """Sert le forum local (compatible Discourse) sur l'hôte et le port de FORUM_URL."""
    from waitress import serve

    from ..localforum.app import create_localforum_app

    settings = obj.settings
    parts = urlsplit(settings.FORUM_URL)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    kwargs = {"webhook_url": None} if no_webhooks else {}
    try:
        app = create_localforum_app(settings, **kwargs)
    except OSError as exc:
        raise click.ClickException(f"impossible d'ouvrir la base du forum local : {exc}") from None
    forum = app.extensions["localforum"]
    say(f"Forum local sur {settings.FORUM_URL} (administrateur « {forum.admin_username} », "
               f"base {settings.LOCALFORUM_DATABASE_URL})")
    if forum.deliverer.enabled:
        say(f"Webhooks envoyés à {forum.deliverer.url}")
    try:
        serve(app, host=host, port=port, threads=8, _quiet=True)
    except OSError as exc:
        raise listen_error(f"{host}:{port}", exc) from None
    finally:
        forum.close()


COMMANDS = [localforum]
