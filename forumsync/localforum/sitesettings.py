"""Site settings of the local forum: Discourse's names, Discourse's defaults, stored overrides.

Every default is the one of Discourse's config/site_settings.yml (never kinder): forumsync
must cope with a 15-character minimum title, 20-character minimum posts and unique titles
as it would on a real forum. A test needing another value sets it and says why.
"""
from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .errors import ApiError
from .models import SiteSetting

# name → (default, type, French description shown in /admin/site_settings.json)
DEFAULTS: dict[str, tuple[object, type, str]] = {
    "title": ("Bistro", str, "Nom du forum"),
    "min_topic_title_length": (15, int, "Longueur minimale d'un titre de sujet"),
    "max_topic_title_length": (255, int, "Longueur maximale d'un titre de sujet"),
    "min_post_length": (20, int, "Longueur minimale d'une réponse"),
    "min_first_post_length": (20, int, "Longueur minimale du premier message d'un sujet"),
    "min_personal_message_post_length": (10, int, "Longueur minimale d'un message privé"),
    "max_post_length": (32000, int, "Longueur maximale d'un message"),
    # TextSentinel (lib/text_sentinel.rb) on bodies (PostValidator#raw_quality) and titles
    # (QualityTitleValidator); TextCleaner.clean_title rewrites titles first (Topic's
    # before_validation). title_remove_extraneous_space: Discourse's default for every locale
    # but en and en_GB (true there); the local forum stands for a French forum.
    "body_min_entropy": (7, int, "Entropie minimale du corps d'un message"),
    "title_min_entropy": (10, int, "Entropie minimale d'un titre"),
    "title_max_word_length": (30, int, "Longueur maximale d'un mot dans un titre"),
    "allow_uppercase_posts": (False, bool, "Messages et titres tout en capitales autorisés"),
    "title_prettify": (True, bool, "Titres remis en forme (!!!, ???, capitales, points finaux)"),
    "title_remove_extraneous_space": (False, bool, "Espace retirée avant ! ou ? en fin de titre"),
    # MaxEmojisValidator on every topic title (private messages too): at most this many emoji
    # (0: none), counted as title_form.emoji_units counts them (never fewer than Discourse)
    "max_emojis_in_title": (1, int, "Emoji permis dans un titre"),
    "enable_emoji": (True, bool, "Emoji activés"),
    "enable_emoji_shortcuts": (True, bool, "Émoticônes comme :) changées en emoji"),
    "enable_category_group_moderation": (False, bool,
                                         "Modération des catégories par des groupes"),
    "tagging_enabled": (True, bool, "Étiquettes activées"),
    "max_tags_per_topic": (5, int, "Nombre maximal d'étiquettes par sujet"),
    "max_tag_length": (20, int, "Longueur maximale d'une étiquette"),
    "allow_duplicate_topic_titles": (False, bool, "Titres de sujets en double autorisés"),
    "max_attachment_size_kb": (4096, int, "Taille maximale d'une pièce jointe (Ko)"),
    # Per-user creation limits (RateLimiter::OnCreateRecord; staff exempt), Discourse defaults.
    "rate_limit_create_topic": (15, int, "Secondes entre deux sujets d'un même utilisateur"),
    "rate_limit_create_post": (5, int, "Secondes entre deux messages d'un même utilisateur"),
    "rate_limit_new_user_create_post": (30, int,
                                        "Secondes entre deux messages d'un nouvel utilisateur"),
    "max_topics_per_day": (20, int, "Sujets par jour et par utilisateur"),
    # PostValidator#force_edit_last_validator: no more replies in a row than this (0: off)
    "max_consecutive_replies": (3, int, "Réponses consécutives permises à un même utilisateur"),
    # Post#edit_time_limit_expired?: minutes an author may edit a post (trust level < 2 / ≥ 2)
    "post_edit_time_limit": (1440, int, "Minutes pendant lesquelles un message se modifie"),
    "tl2_post_edit_time_limit": (43200, int,
                                 "Minutes pendant lesquelles un message se modifie (niveau 2+)"),
    # PostValidator's limits for new users (trust level 0; staff and staged exempt)
    "newuser_max_links": (2, int, "Liens par message d'un nouvel utilisateur"),
    "newuser_max_embedded_media": (1, int, "Images ou médias par message d'un nouvel utilisateur"),
    "newuser_max_attachments": (0, int, "Pièces jointes par message d'un nouvel utilisateur"),
    "newuser_max_replies_per_topic": (3, int, "Réponses d'un nouvel utilisateur dans un sujet"),
    # PostValidator#unique_post_validator: the same raw twice from one non-staff user
    "unique_posts_mins": (5, int, "Minutes pendant lesquelles un même message est refusé"),
    # Jobs::EmitWebHookEvent retries a failed delivery only with this on (Discourse: off).
    "retry_web_hook_events": (False, bool, "Réessayer les webhooks en échec"),
    # Discourse's lazy_load_categories_groups, reduced to on/off: categories come by pages.
    "lazy_load_categories": (False, bool, "Chargement des catégories par pages"),
    # Discourse's defaults (config/site_settings.yml): read by `forumsync doctor`
    "enable_staged_users": (True, bool, "Utilisateurs intermédiaires (staged) activés"),
    "disable_emails": ("no", str, "Désactiver les courriels (no, yes, non-staff)"),
    # Discourse's defaults, used for staged users (forumsync/localforum/staged_users.py)
    "min_username_length": (3, int, "Longueur minimale d'un nom d'utilisateur"),
    "max_username_length": (20, int, "Longueur maximale d'un nom d'utilisateur"),
    "reserved_usernames": ("admin|moderator|administrator|mod|sys|system|community|info|you|"
                           "name|username|user|nickname|discourse|discourseorg|discourseforum|"
                           "support|all|here", str, "Noms d'utilisateur réservés"),
    "allowed_email_domains": ("", str, "Seuls domaines de courriel autorisés"),
    "blocked_email_domains": ("mailinator.com", str, "Domaines de courriel bloqués"),
}


def _parse(name: str, value):
    kind = DEFAULTS[name][1]
    if kind is bool:
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "t", "yes", "on")
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(422, f"Value must be an integer: {name}") from None
    return str(value)


_STORED = "localforum.site_settings"  # session.info key: the stored overrides, read once


def _stored(session) -> dict:
    """The stored overrides, read in one query per session (a request): a setting left at
    its default has no row, and asking the database for each missing row cost one query per
    check (~6 per post created). A change in this session (``set_value``) or a rollback
    reads them again; another request's change is seen by the next request."""
    stored = session.info.get(_STORED)
    if stored is None:
        stored = {row.name: row.value for row in session.scalars(select(SiteSetting))}
        session.info[_STORED] = stored
    return stored


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, _previous_transaction) -> None:
    """A rollback (savepoint included) may undo a change: read the rows again."""
    session.info.pop(_STORED, None)


def get(session, name: str):
    if name not in DEFAULTS:
        raise KeyError(name)
    stored = _stored(session)
    return DEFAULTS[name][0] if name not in stored else _parse(name, stored[name])


def set_value(session, name: str, value) -> None:
    if name not in DEFAULTS:
        raise ApiError(422, f"No setting named '{name}' exists", "not_found")
    parsed = _parse(name, value)
    session.info.pop(_STORED, None)  # read again after this change
    row = session.get(SiteSetting, name)
    if row is None:
        session.add(SiteSetting(name=name, value=str(parsed).lower() if isinstance(parsed, bool) else str(parsed)))
    else:
        row.value = str(parsed).lower() if isinstance(parsed, bool) else str(parsed)


def all_settings(session, filter_names=None) -> list[dict]:
    """The list /admin/site_settings.json returns (Discourse's item fields). FILTER_NAMES as
    SiteSetting.all_settings reads it: ``filter_names.include?(name)``: a list holds exact
    names, a string holds every name it contains (Ruby's String#include?)."""
    stored = {row.name: row.value for row in session.scalars(select(SiteSetting))}
    items = []
    for name, (default, kind, description) in DEFAULTS.items():
        if filter_names is not None and name not in filter_names:
            continue
        value = _parse(name, stored[name]) if name in stored else default
        items.append({
            "setting": name,
            "description": description,
            "default": _render(default),
            "type": {bool: "bool", int: "integer", str: "string"}[kind],
            "value": _render(value),
            "category": "posting",
            "preview": None,
            "secret": False,
            "placeholder": None,
            "mandatory_values": None,
            "requires_confirmation": None,
        })
    return items


def _render(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
