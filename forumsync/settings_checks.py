"""Validators of settings values: each takes the value a settings file gave and returns it
cleaned, or raises ValueError with a French reason (the caller adds the key's name).

Kept apart from ``forumsync.settings`` so that module stays the table of keys and its loader.
"""
from __future__ import annotations

import difflib
import os
import re
from urllib.parse import urlsplit


def _str(value):
    if not isinstance(value, str):
        raise ValueError("doit être une chaîne de caractères")
    return value


def _opt_str(value):
    return None if value is None else _str(value)


def _bool(value):
    if not isinstance(value, bool):
        raise ValueError("doit être True ou False")
    return value


def _int(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("doit être un nombre entier")
    return value


def _positive_int(value):
    if _int(value) < 0:
        raise ValueError("doit être un entier positif")
    return value


def _opt_positive_int(value):
    return None if value is None else _positive_int(value)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("doit être un nombre")
    return float(value)


def _seconds(value):
    """A duration in seconds, 0 or more (0: no limit where the key says so)."""
    if _number(value) < 0:
        raise ValueError("doit être un nombre de secondes positif ou nul")
    return float(value)


def _http_url(value):
    _str(value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("doit être une URL http(s)://hôte[:port]")
    return value.rstrip("/")


def _opt_host_port(value):
    return None if value is None else _host_port(value)


def _link_style(value):
    if value not in ("discourse", "localforum"):
        raise ValueError("doit valoir « discourse » ou « localforum »")
    return value


def _opt_http_url(value):
    return None if value is None else _http_url(value)


def _database_url(value):
    _str(value)
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
        raise ValueError("doit commencer par sqlite:// ou postgresql://")
    return value


def _email(value):
    _str(value)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.?[^@\s<>]*", value):
        raise ValueError("doit être une adresse électronique (nom@domaine)")
    return value.lower()


def _host_port(value):
    _str(value)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError("doit être de la forme hôte:port")
    return value


def _mail_url(value):
    _str(value)
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps", "lmtp") or not parts.hostname:
        raise ValueError("doit être smtp://hôte:port, smtps://hôte:port ou lmtp://hôte:port")
    return value


def _str_list(value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("doit être une liste de chaînes")
    return list(value)


def _list_of_dicts(value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, dict) for v in value):
        raise ValueError("doit être une liste de dictionnaires")
    return [dict(v) for v in value]


def _dict(value):
    if not isinstance(value, dict):
        raise ValueError("doit être un dictionnaire")
    return dict(value)


THEME_KEYS = {
    "slug": _str,
    "name": _str,
    "description": _str,
    "lead": _str,
    "lead_emails": _str_list,
    "tags": _str_list,
    "keywords": _str_list,
    "addresses": _str_list,
}
THEME_OPTIONAL = {"description": "", "lead": "", "lead_emails": [], "tags": [], "keywords": [],
                  "addresses": [], "color": None, "mirrored": True, "group": None}
# A Discourse group name (UsernameValidator: 3 to 20 characters by default, letters, digits, « _ »,
# « . », « - », beginning and ending with a letter or digit).
_GROUP_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{1,18})[A-Za-z0-9]")


def _unknown_theme_key(key) -> str:
    """Every key a theme takes, the optional ones too (« colour » listed neither « color » nor
    « group »), and the closest one, as for an unknown setting."""
    known = list(dict.fromkeys([*THEME_KEYS, *THEME_OPTIONAL]))
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
    return f"clé inconnue « {key} »{hint} (clés possibles : {', '.join(known)})"


def _themes(value):
    themes = []
    seen = set()
    for index, theme in enumerate(_list_of_dicts(value)):
        where = f"THEMES[{index}]"
        for key in theme:
            if key not in THEME_KEYS and key not in THEME_OPTIONAL:
                raise ValueError(f"{where} : {_unknown_theme_key(key)}")
        for key in ("slug", "name"):
            if key not in theme:
                raise ValueError(f"{where} : la clé « {key} » est obligatoire")
        clean = dict(THEME_OPTIONAL)
        clean.update(theme)
        for key, check in THEME_KEYS.items():
            try:
                clean[key] = check(clean[key])
            except ValueError as exc:
                raise ValueError(f"{where}.{key} {exc}") from None
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", clean["slug"]):
            raise ValueError(f"{where}.slug doit contenir seulement a-z, 0-9 et « - »")
        if clean["slug"] in seen:
            raise ValueError(f"{where}.slug « {clean['slug']} » est en double")
        seen.add(clean["slug"])
        clean["lead_emails"] = [e.lower() for e in clean["lead_emails"]]
        clean["addresses"] = [a.lower() for a in clean["addresses"]]
        if clean["group"] is not None and not (isinstance(clean["group"], str)
                                               and _GROUP_NAME.fullmatch(clean["group"])):
            raise ValueError(f"{where}.group doit être un nom de groupe Discourse : 3 à 20 lettres, "
                             f"chiffres, « _ », « . » ou « - »")
        themes.append(clean)
    _distinct_lead_groups(themes)
    return themes


def _distinct_lead_groups(themes: list[dict]) -> None:
    """Two themes never share a lead group: names cut to Discourse's 20 characters can collide
    (« portail-famille » and « portail-citoyen » both gave « animateurs-portail »), and each
    lead would then moderate the other's category (red team, 31st pass)."""
    from .themes.desired import lead_group

    owners: dict[str, str] = {}
    for index, theme in enumerate(themes):
        name = lead_group(theme).lower()
        if name in owners:
            raise ValueError(f"THEMES[{index}] : le groupe d'animateurs « {lead_group(theme)} » serait aussi "
                             f"celui du thème « {owners[name]} » (noms coupés à 20 caractères) : "
                             f"donnez à l'un des deux une clé « group » (un autre nom de groupe)")
        owners[name] = theme["slug"]


def _catalogue_sources(value):
    sources = _list_of_dicts(value)
    for index, source in enumerate(sources):
        where = f"CATALOGUE_SOURCES[{index}]"
        for key in ("name", "collectivity", "type"):
            if not isinstance(source.get(key), str):
                raise ValueError(f"{where} : la clé « {key} » (chaîne) est obligatoire")
        kind = source["type"]
        if kind == "wcs-api":
            for key in ("url", "orig", "key"):
                if not isinstance(source.get(key), str):
                    raise ValueError(f"{where} : la clé « {key} » est obligatoire pour wcs-api")
            parts = urlsplit(source["url"])
            if parts.scheme not in ("http", "https") or not parts.hostname:  # no file://, ftp://…
                raise ValueError(f"{where}.url doit être une URL http(s)://hôte (reçu : "
                                 f"« {parts.scheme or 'sans schéma'}:// »)")
        elif kind in ("directory", "bundle"):
            if not isinstance(source.get("path"), str):
                raise ValueError(f"{where} : la clé « path » est obligatoire pour {kind}")
        else:
            raise ValueError(f"{where}.type « {kind} » inconnu (wcs-api, directory ou bundle)")
    return sources


# What each kind of SUBSCRIBER_SOURCES entry needs (community/rosters.py reads them).
SUBSCRIBER_SOURCE_KEYS = {"mailman": ("url", "list"), "csv": ("path",)}


def _subscriber_sources(value):
    """Checked when the settings load, like CATALOGUE_SOURCES: a csv source without « path »
    passed check-settings, then `community subscribers` and the worker died on a KeyError."""
    sources = _list_of_dicts(value)
    for index, source in enumerate(sources):
        where = f"SUBSCRIBER_SOURCES[{index}]"
        if isinstance(source.get("path"), os.PathLike):  # a pathlib.Path, as it always worked
            sources[index] = source = dict(source, path=os.fspath(source["path"]))
        kind = source.get("type")
        if kind is None:
            raise ValueError(f"{where} : la clé « type » est obligatoire (mailman ou csv)")
        if kind not in SUBSCRIBER_SOURCE_KEYS:
            raise ValueError(f"{where}.type « {kind} » inconnu (mailman ou csv)")
        for key in SUBSCRIBER_SOURCE_KEYS[kind]:
            if not isinstance(source.get(key), str) or not source[key].strip():
                raise ValueError(f"{where} : la clé « {key} » (chaîne) est obligatoire pour {kind}")
    return sources


# COLLECTIVITIES entries (community/directory.py renders them): name, then optional texts and lists.
COLLECTIVITY_TEXTS = ("summary", "url")
COLLECTIVITY_LISTS = ("themes", "software")


def _collectivities(value):
    """Checked when the settings load: a number as « summary » died on an AttributeError in
    `community directory` and the worker, « software »: "Publik" listed each letter, and an
    entry without « name » was skipped without a word."""
    entries = _list_of_dicts(value)
    known = ("name", *COLLECTIVITY_TEXTS, *COLLECTIVITY_LISTS)
    for index, entry in enumerate(entries):
        where = f"COLLECTIVITIES[{index}]"
        for key in entry:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" ; vouliez-vous dire « {close[0]} » ?" if close else ""
                raise ValueError(f"{where} : clé inconnue « {key} »{hint} "
                                 f"(clés possibles : {', '.join(known)})")
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise ValueError(f"{where} : la clé « name » (nom de la collectivité) est obligatoire")
        for key in COLLECTIVITY_TEXTS:
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise ValueError(f"{where}.{key} doit être une chaîne")
        for key in COLLECTIVITY_LISTS:
            if entry.get(key) is not None:
                try:
                    _str_list(entry[key])
                except ValueError as exc:
                    raise ValueError(f"{where}.{key} {exc}") from None
    return entries

