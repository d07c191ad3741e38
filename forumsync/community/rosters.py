"""Reading a list's roster ({email: display name}) from a subscriber source.

Sources (setting ``SUBSCRIBER_SOURCES``):

- ``{"type": "mailman", "url": "http://127.0.0.1:8001/3.1", "user": …, "password": …,
  "list": "club@listes.example.org"}``: the Mailman 3 REST API, through mailmanclient;
- ``{"type": "csv", "path": "abonnes.csv"}``: a roster file with an ``email`` column (and an
  optional ``name`` column), or e-mail address then name without a header line.

An optional ``"name"`` names the source (default: ``mailman:<list>`` / ``csv:<path>``).
"""
from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from ..models.base import storable

log = logging.getLogger(__name__)


class SourceError(Exception):
    """A subscriber source that cannot be read (French message)."""


def source_name(source: dict) -> str:
    if source.get("name"):
        return str(source["name"])
    if source.get("type") == "mailman":
        return f"mailman:{source.get('list', '')}"
    return f"{source.get('type', '?')}:{source.get('path', '')}"


def read_mailman(source: dict) -> dict[str, str]:
    """{email: display name} of the list's members, from Mailman 3's REST API."""
    from mailmanclient import Client

    try:
        client = Client(source["url"], source.get("user", "restadmin"), source.get("password", ""))
        mlist = client.get_list(source["list"])
        members = mlist.get_roster("member", fields=["email", "display_name"])
    except KeyError as exc:
        raise SourceError(f"source Mailman incomplète : clé {exc} manquante") from None
    except Exception as exc:  # mailmanclient raises HTTPError, ConnectionError… without a common base
        raise SourceError(f"liste Mailman {source.get('list')} illisible : {exc}") from None
    roster = {}
    for member in members:
        email = (member.rest_data.get("email") or "").strip().lower()
        if email:
            roster[email] = member.rest_data.get("display_name") or ""
    return roster


def read_csv(source: dict, base_dir: Path | None = None) -> dict[str, str]:
    """{email: name} from a CSV roster (header with ``email``/``name``, or email,name rows)."""
    path = Path(source["path"])
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"fichier d'abonnés {path} illisible : {exc.strerror}") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    roster: dict[str, str] = {}
    if not rows:
        return roster
    header = [h.strip().lower() for h in rows[0]]
    email_col, name_col = 0, 1
    if any(h in ("email", "e-mail", "courriel", "adresse") for h in header):
        email_col = next(i for i, h in enumerate(header) if h in ("email", "e-mail", "courriel", "adresse"))
        name_col = next((i for i, h in enumerate(header) if h in ("name", "nom", "display_name")), None)
        rows = rows[1:]
    for row in rows:
        if len(row) <= email_col:
            continue
        email = row[email_col].strip().lower()
        if "@" not in email:
            continue
        name = row[name_col].strip() if name_col is not None and len(row) > name_col else ""
        roster[email] = name
    return roster


def read_source(source: dict, base_dir: Path | None = None) -> dict[str, str]:
    kind = source.get("type")
    if kind == "mailman":
        return storable_roster(read_mailman(source))
    if kind == "csv":
        return storable_roster(read_csv(source, base_dir))
    raise SourceError(f"type de source d'abonnés inconnu « {kind} » (mailman ou csv)")


MAX_ADDRESS_CHARS = 254  # RFC 5321 4.5.3.1.3: a path of 256 octets, brackets included
MAX_NAME_CHARS = 300  # the column's width


def storable_roster(roster: dict[str, str]) -> dict[str, str]:
    """ROSTER as it can be stored and compared run after run: every subscriber chooses their
    display name (red team, tenth pass: one name of 301 characters stopped every sync on
    PostgreSQL), so names are cut and cleaned; an address no mail server accepts is left out."""
    out = {}
    for address, name in roster.items():
        if len(address) > MAX_ADDRESS_CHARS or not address.isprintable():
            log.warning("adresse d'abonné ignorée (illisible ou de plus de %s caractères) : %r",
                        MAX_ADDRESS_CHARS, address[:80])
            continue
        out[address] = storable(name or "", MAX_NAME_CHARS)
    return out
