"""Load and validate a forumsync settings module.

Settings are a plain Python module of UPPERCASE names (see settings.example.py at the top
of the repository). Every key has a default and a validator (settings_checks.py), so a typo or a wrong
type is reported with the key's name instead of surfacing later as a strange failure.
Nothing in forumsync reads settings at import time: commands load them and pass them on.
"""
from __future__ import annotations

import difflib
import importlib.machinery
import importlib.util
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

# The validators the KEYS table names (settings_checks.py holds them all).
from .settings_checks import (  # noqa: F401
    _bool, _catalogue_sources, _collectivities, _database_url, _dict, _email, _host_port, _http_url,
    _link_style, _list_of_dicts, _mail_url, _number, _opt_host_port, _opt_http_url,
    _opt_positive_int, _opt_str, _positive_int, _seconds, _str, _str_list, _subscriber_sources,
    _themes,
)
from .settings_secrets import placeholder_refusal


class SettingsError(Exception):
    """A settings file that cannot be used; the message is French and names the key."""


@dataclass(frozen=True)
class Key:
    default: Any
    check: Callable[[Any], Any]
    doc: str = ""


# Every key forumsync knows. Defaults make the embedded demo work (SQLite, local forum).
KEYS: dict[str, Key] = {
    # storage
    "DATABASE_URL": Key("sqlite:///var/forumsync.sqlite3", _database_url),
    # forum
    "FORUM_URL": Key("http://127.0.0.1:4200", _http_url),
    "FORUM_API_KEY": Key("demo-api-key", _str),
    "FORUM_API_USERNAME": Key("system", _str),
    "FORUM_WEBHOOK_SECRET": Key("demo-webhook-secret", _str),
    "FORUM_NAME": Key("Bistro", _str),
    "FORUM_LINK_STYLE": Key("discourse", _link_style),
    "FORUM_TIMEOUT": Key(10.0, _number),
    "FORUM_RETRIES": Key(4, _positive_int),
    "FORUM_MAX_WAIT": Key(60.0, _number),
    "FORUM_BACKOFF": Key(0.5, _number),
    "FORUM_MAX_REQUESTS_PER_MINUTE": Key(60, _positive_int),
    "INBOX_BATCH_THRESHOLD": Key(20, _positive_int),
    "PIPELINE_POOL_SIZE": Key(None, _opt_positive_int),  # None: one fewer than the CPUs; 0: off
    # processor seconds one message's conversion may take (pipeline/budget.py; 0: no limit)
    "PIPELINE_MESSAGE_CPU_SECONDS": Key(30.0, _seconds),
    # the list
    "LIST_ADDRESS": Key("club@listes.example.org", _email),
    "LIST_NAME": Key("Club Publik", _str),
    "LIST_TAG": Key("[club-publik]", _str),
    "LIST_FOOTER_PATTERNS": Key([], _str_list),
    "BRIDGE_ADDRESS": Key("bistro@forumsync.example.org", _email),
    "PARENT_CATEGORY": Key("Club Publik", _str),
    "DEFAULT_THEME": Key(None, _opt_str),
    "THEMES": Key([], _themes),
    "THEME_BODY_MIN_SCORE": Key(2, _positive_int),
    # web service
    "WEB_URL": Key("http://127.0.0.1:5000", _http_url),
    "WEB_LISTEN": Key(None, _opt_host_port),
    "SECRET_KEY": Key("change-me-demo-secret", _str),
    "INBOUND_TOKEN": Key("demo-inbound-token", _str),
    "DASHBOARD_PASSWORD_HASH": Key(None, _opt_str),
    # mail in and out
    "LMTP_LISTEN": Key("127.0.0.1:8024", _host_port),
    "SMTP_URL": Key("smtp://127.0.0.1:8025", _mail_url),
    "SMTP_USERNAME": Key(None, _opt_str),
    "SMTP_PASSWORD": Key(None, _opt_str),
    "SMTP_STARTTLS": Key(False, _bool),
    "REPLY_ADDRESS": Key(None, _opt_str),
    "REPLY_TOKEN_MAX_AGE_DAYS": Key(30, _positive_int),
    "AUTHSERV_ID": Key(None, _opt_str),
    "MAX_MESSAGE_BYTES": Key(25 * 1024 * 1024, _positive_int),
    "MAX_ATTACHMENT_BYTES": Key(10 * 1024 * 1024, _positive_int),
    "MAX_ATTACHMENTS": Key(20, _positive_int),
    "SUBJECT_THREAD_DAYS": Key(30, _positive_int),
    "EXPOSE_AUTHOR_EMAIL": Key(False, _bool),
    "SEND_EDIT_NOTICES": Key(False, _bool),
    # forum → list: how long a post waits before its mail may leave (Discourse's
    # email_time_window_mins, 10 minutes by default); 0 = at once (the demo, the tests).
    # outbound/outbox.py, forum/event_handlers.py
    "LIST_SEND_DELAY_SECONDS": Key(600.0, _seconds),
    # local forum
    "LOCALFORUM_DATABASE_URL": Key(None, _opt_str),
    "LOCALFORUM_WEBHOOK_URL": Key(None, _opt_http_url),
    "LOCALFORUM_RATE_LIMIT": Key(60, _positive_int),  # Discourse's max_admin_api_reqs_per_minute
    # catalogue
    "CATALOGUE_SOURCES": Key([], _catalogue_sources),
    "CATALOGUE_CATEGORY": Key("Catalogue des démarches", _str),
    "CATALOGUE_MATCH_THRESHOLD": Key(90.0, _number),
    "CATALOGUE_INTERVAL_MINUTES": Key(24 * 60, _positive_int),
    # community
    "SUBSCRIBER_SOURCES": Key([], _subscriber_sources),
    "COLLECTIVITIES": Key([], _collectivities),
    "RELEASE_FEEDS": Key([], _list_of_dicts),
    "SUBSCRIBERS_INTERVAL_MINUTES": Key(15, _positive_int),
    "NEWCOMERS_DIGEST": Key(False, _bool),
    "RELEASES_INTERVAL_MINUTES": Key(60, _positive_int),
    "MEMBERS_GROUP": Key("membres", _str),
    "CLUB_EVENTS": Key([], _list_of_dicts),
    "DISCOURSE_CONNECT_SECRET": Key(None, _opt_str),
    "EXTRA": Key({}, _dict),
    # worker
    "WORKER_POLL_SECONDS": Key(1.0, _number),
    "FORUM_CATCHUP_SECONDS": Key(300.0, _number),  # forum/catchup.py; 0 = never
}


class Settings:
    """Validated settings, read as attributes (``settings.FORUM_URL``)."""

    def __init__(self, values: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None):
        self._source = source
        self._base_dir = base_dir or Path.cwd()
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name not in KEYS:
                hint = difflib.get_close_matches(name, KEYS, n=1)
                extra = f" ; vouliez-vous dire « {hint[0]} » ?" if hint else ""
                raise SettingsError(f"{source} : clé de réglage inconnue « {name} »{extra}")
            try:
                clean[name] = KEYS[name].check(value)
            except ValueError as exc:
                raise SettingsError(f"{source} : réglage « {name} » invalide : {exc}") from None
            refusal = placeholder_refusal(name, value)
            if refusal:
                raise SettingsError(f"{source} : {refusal}")
        for name, key in KEYS.items():
            if name not in clean:
                clean[name] = key.check(key.default) if key.default is not None else None
        self._values = clean
        self._finish()

    def _finish(self):
        v = self._values
        v["DATABASE_URL"] = self._absolute_sqlite(v["DATABASE_URL"])
        if v["LOCALFORUM_DATABASE_URL"] is None:
            v["LOCALFORUM_DATABASE_URL"] = self._sibling_sqlite(v["DATABASE_URL"], "localforum")
        else:
            v["LOCALFORUM_DATABASE_URL"] = self._absolute_sqlite(v["LOCALFORUM_DATABASE_URL"])
        if v["LOCALFORUM_WEBHOOK_URL"] is None:
            v["LOCALFORUM_WEBHOOK_URL"] = v["WEB_URL"] + "/webhooks/discourse"
        slugs = {t["slug"] for t in v["THEMES"]}
        if v["DEFAULT_THEME"] is not None and slugs and v["DEFAULT_THEME"] not in slugs:
            raise SettingsError(f"{self._source} : réglage « DEFAULT_THEME » invalide : "
                                f"« {v['DEFAULT_THEME']} » n'est pas un thème de THEMES")
        mirrored = [t["slug"] for t in v["THEMES"] if t.get("mirrored", True)]
        if v["THEMES"] and not mirrored:
            raise SettingsError(f"{self._source} : réglage « THEMES » invalide : aucun thème n'est relayé "
                                f"vers la liste (tous mirrored: False) : le courrier de la liste n'aurait "
                                f"aucun thème où ouvrir ses sujets")
        if v["DEFAULT_THEME"] is not None and slugs and v["DEFAULT_THEME"] not in mirrored:
            raise SettingsError(f"{self._source} : réglage « DEFAULT_THEME » invalide : le thème "
                                f"« {v['DEFAULT_THEME']} » n'est pas relayé vers la liste (mirrored: False), "
                                f"il ne peut pas recevoir le courrier de la liste")
        if v["DEFAULT_THEME"] is None and mirrored:
            v["DEFAULT_THEME"] = mirrored[0]

    def _absolute_sqlite(self, url: str) -> str:
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            path = (self._base_dir / url[len(prefix):]).resolve()
            return prefix + str(path)
        return url

    @staticmethod
    def _sibling_sqlite(url: str, name: str) -> str:
        if url.startswith("sqlite:///") and ":memory:" not in url:
            path = Path(url[len("sqlite:///"):])
            return f"sqlite:///{path.with_name(path.stem + '-' + name + '.sqlite3')}"
        return f"sqlite:///{(Path.cwd() / 'var' / (name + '.sqlite3')).resolve()}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"réglage inconnu {name}") from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes) -> "Settings":
        """A copy with some keys changed (used by tests and the demo)."""
        values = {k: v for k, v in self._values.items()}
        values.update(changes)
        if "DATABASE_URL" in changes and "LOCALFORUM_DATABASE_URL" not in changes:
            values["LOCALFORUM_DATABASE_URL"] = None
        if "WEB_URL" in changes and "LOCALFORUM_WEBHOOK_URL" not in changes:
            values["LOCALFORUM_WEBHOOK_URL"] = None
        return Settings(values, self._source, self._base_dir)

    @property
    def forum_host(self) -> str:
        return urlsplit(self.FORUM_URL).hostname or "localhost"

    @property
    def source(self) -> str:
        return self._source

    def theme(self, slug: str) -> dict | None:
        return next((t for t in self.THEMES if t["slug"] == slug), None)

    def __repr__(self):
        return f"<Settings {self._source}>"


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Load settings from PATH, else $FORUMSYNC_SETTINGS, else the built-in defaults."""
    path = path or os.environ.get("FORUMSYNC_SETTINGS")
    if not path:
        return Settings({}, "<défauts>")
    file = Path(path)
    if file.is_dir():
        raise SettingsError(f"{file} est un répertoire : donnez le fichier de réglages (ex. {file / 'settings.py'})")
    if not file.is_file():
        raise SettingsError(f"fichier de réglages introuvable : {file}")
    # Read as Python whatever its name ends with: importlib only guesses a loader from « .py »,
    # and « /etc/forumsync/settings » or « settings.conf » crashed with a traceback.
    loader = importlib.machinery.SourceFileLoader("forumsync_user_settings", str(file))
    spec = importlib.util.spec_from_file_location("forumsync_user_settings", file, loader=loader)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise SettingsError(f"{file} : erreur de syntaxe Python ligne {exc.lineno} "
                            f"(Python dit : {exc.msg})") from None
    except Exception as exc:  # the user's module raised: report it, don't crash with a trace
        line = next((frame.lineno for frame in reversed(traceback.extract_tb(exc.__traceback__))
                     if frame.filename == str(file)), None)
        where = f" ligne {line}" if line else ""
        raise SettingsError(f"{file} : erreur à l'exécution du fichier{where} "
                            f"({exc.__class__.__name__}, Python dit : {exc})") from None
    values = {k: getattr(module, k) for k in dir(module) if k.isupper() and not k.startswith("_")}
    return Settings(values, str(file), file.resolve().parent)
