"""Validation of the plugin's ``POST /forumsync/posts.json`` body and files, with no I/O.

Same rules and French messages as the Ruby plugin (``plugin/lib/forumsync/post_params.rb``,
``post_files.rb``, ``plugin/config/locales/server.fr.yml``); the endpoints are in
``plugin_api.py`` and ``plugin_batch.py``.
"""
from __future__ import annotations

import re
from datetime import datetime

from . import staged_users

MAX_FILES = 20  # plugin/lib/forumsync/post_files.rb
# Ruby's \d is ASCII only (PostFiles::REFERENCE): "forumsync-file:\u0663" names no file there
FILE_REFERENCE = re.compile(r"forumsync-file:([0-9]+)(?![0-9])")
MAX_MESSAGE_ID = 998
MAX_TITLE = 255
EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,50}")

# plugin/config/locales/server.fr.yml (forumsync.errors), same sentences.
MESSAGES = {
    "required": "Le paramètre « {name} » est obligatoire.",
    "invalid_email": "Adresse électronique invalide : « {value} ».",
    "invalid_message_id": "Message-ID invalide : « {value} ».",
    "invalid_integer": "« {name} » doit être un entier positif.",
    "invalid_date": "Date invalide pour « {name} » : « {value} ».",
    "invalid_external_id": ("« external_id » doit compter au plus 50 caractères parmi lettres, "
                            "chiffres, « _ » et « - »."),
    "missing_target": "Indiquez « topic_id » (réponse) ou « title » et « category_id » (nouveau sujet).",
    "reply_with_title": "Une réponse (« topic_id ») ne prend ni « title » ni « category_id ».",
    "too_long": "« {name} » dépasse {max} caractères.",
    "invalid_tags": "« tags » doit être une liste d'étiquettes.",
    "too_many_files": "Trop de fichiers joints : {count} (au plus {max}).",
    "unknown_file": "Le message fait référence au fichier n° {index} qui n'a pas été envoyé.",
    "unused_file": "Le fichier n° {index} est envoyé mais le message n'y fait pas référence.",
    "upload_refused": "Pièce jointe « {name} » refusée par le forum : {reason}",
    "post_refused": "Le forum a refusé le message : {reason}",
    "topic_closed": "Le sujet {id} est fermé ou archivé : la liste n'y écrit pas.",
    "category_closed": ("La liste ne peut pas écrire dans la catégorie {id} : tout le monde n'y a pas "
                        "ce droit, et ce message passe sans le gardien du forum."),
}


def normalize_message_id(value) -> str | None:
    """``<abc@example.org>`` → ``abc@example.org``; None when nothing usable is left
    (table of cases: plugin/spec/fixtures/contract/message_id.json)."""
    text = re.sub(r"\r?\n[ \t]*", "", "" if value is None else str(value)).strip()
    if not text:
        return None
    if text.startswith("<"):
        match = re.match(r"<([^<>]*)>", text)
        inner = match.group(1).strip() if match else None
    elif re.search(r"[<>\s]", text):
        inner = None
    else:
        inner = text
    if not inner or re.search(r"[\s<>]", inner) or len(inner) > MAX_MESSAGE_ID:
        return None
    return inner


class PostParams:
    """Validation of POST /forumsync/posts.json (plugin/lib/forumsync/post_params.rb)."""

    def __init__(self, raw_params: dict):
        p = {str(k): v for k, v in (raw_params or {}).items()}
        if "category" in p and "category_id" not in p:
            p["category_id"] = p.pop("category")
        self.p = p
        self.errors: list[str] = []
        self.email = self.name = self.username_hint = self.raw = self.message_id = self.title = None
        self.category_id = self.topic_id = self.reply_to_post_number = None
        self.created_at = self.external_id = None
        self.tags: list[str] = []
        self._validate()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def reply(self) -> bool:
        return self.topic_id is not None

    def _error(self, key, **values):
        self.errors.append(MESSAGES[key].format(**values))

    def _present(self, key) -> bool:
        value = self.p.get(key)
        return not (value is None or (isinstance(value, str) and not value.strip()))

    def _text(self, key, strip=True):
        if not self._present(key):
            return None
        value = str(self.p[key])
        return value.strip() if strip else value

    def _integer(self, key):
        if not self._present(key):
            return None
        value = self.p[key]
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            number = int(text) if re.fullmatch(r"\d+", text) else None
        if number is not None and number > 0:
            return number
        self._error("invalid_integer", name=key)
        return None

    def _validate(self):
        email = self._text("email")
        if email is None:
            self._error("required", name="email")
        elif not staged_users.email_valid(email):
            self._error("invalid_email", value=email)
        else:
            self.email = email.lower()
        self.name = self._text("name")
        if self.name and len(self.name) > 255:
            self._error("too_long", name="name", max=255)
        # what a new staged user's username is made from instead of the name (forumsync sends
        # it for a sender whose name is marked « adresse non vérifiée »)
        self.username_hint = self._text("username_hint")
        if self.username_hint and len(self.username_hint) > 255:
            self._error("too_long", name="username_hint", max=255)
        self.raw = self._text("raw", strip=False)
        if self.raw is None or not self.raw.strip():
            self._error("required", name="raw")
        message_id = self._text("message_id", strip=False)
        if message_id is None:
            self._error("required", name="message_id")
        else:
            self.message_id = normalize_message_id(message_id)
            if self.message_id is None:
                self._error("invalid_message_id", value=message_id.strip())
        given_topic = self._present("topic_id")
        self.topic_id = self._integer("topic_id")
        self.title = self._text("title")
        self.category_id = self._integer("category_id")
        if given_topic:
            if self._present("title") or self._present("category_id"):
                self._error("reply_with_title")
        elif self.title is None or not self._present("category_id"):
            self._error("missing_target")
        elif len(self.title) > MAX_TITLE:
            self._error("too_long", name="title", max=MAX_TITLE)
        self.reply_to_post_number = self._integer("reply_to_post_number")
        created_at = self._text("created_at")
        if created_at is not None:
            try:
                self.created_at = datetime.fromisoformat(created_at)
            except ValueError:
                self._error("invalid_date", name="created_at", value=created_at)
        external_id = self._text("external_id")
        if external_id is not None:
            if EXTERNAL_ID.fullmatch(external_id):
                self.external_id = external_id
            else:
                self._error("invalid_external_id")
        tags = self.p.get("tags")
        if tags not in (None, ""):
            if isinstance(tags, (list, tuple)) and all(isinstance(t, str) for t in tags):
                self.tags = [t.strip() for t in tags if t.strip()]
            else:
                self._error("invalid_tags")


class PostFiles:
    """Files sent with the post (plugin/lib/forumsync/post_files.rb): ``forumsync-file:N`` in
    the raw is the Nth file; it becomes that file's upload short URL."""

    def __init__(self, raw: str | None, count: int):
        self.raw = raw or ""
        self.count = count
        self.errors: list[str] = []
        if count > MAX_FILES:
            self.errors.append(MESSAGES["too_many_files"].format(count=count, max=MAX_FILES))
            return
        used = sorted({int(n) for n in FILE_REFERENCE.findall(self.raw)})
        self.errors += [MESSAGES["unknown_file"].format(index=n) for n in used if n >= count]
        self.errors += [MESSAGES["unused_file"].format(index=n) for n in range(count) if n not in used]

    @property
    def valid(self) -> bool:
        return not self.errors

    def substitute(self, urls: list[str]) -> str:
        return FILE_REFERENCE.sub(lambda m: urls[int(m.group(1))], self.raw)
