"""Staged users of the local forum, made by Discourse's rules for an unknown mail sender.

Discourse (read in its source, reproduced here so our tests fail where Discourse would):

- ``Email::Receiver#find_or_create_user``: staging only while ``enable_staged_users`` is on
  and ``EmailValidator.allowed?`` accepts the address; username
  ``UserNameSuggester.suggest(sanitize_username(display_name).presence || email)``; name the
  display name, else ``User.suggest_name(email)``. The plugin's ``username_hint``, when
  given, stands for the display name in the username's making only; a creation that hits a unique index is
  retried (the other request made this sender) in a savepoint;
- ``lib/validators/email_address_validator.rb``: the addresses a user may have;
- ``lib/validators/email_validator.rb`` ``EmailValidator.allowed?``: allowed/blocked domains;
- ``lib/user_name_suggester.rb`` and ``lib/validators/username_validator.rb`` (ASCII
  usernames, Discourse's default ``unicode_usernames = false``);
- ``User.username_available?``: not reserved, not a user's, not a group's name.
"""
from __future__ import annotations

import re
import secrets
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import prepared, sitesettings, users
from .errors import ApiError
from .models import Group, User

# EmailAddressValidator.email_regex (dot-atom local part, LDH host labels)
_ATOM = r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_LABEL}")
ENCODED_WORD = re.compile(r"=\?[^?]+\?[BbQq]\?[^?]+\?=")
MAX_LOCAL, MAX_DOMAIN = 64, 255

# UsernameValidator (ASCII mode) and UserNameSuggester
INVALID_CHAR = re.compile(r"[^A-Za-z0-9_.-]")
INVALID_LEADING = re.compile(r"\A[^A-Za-z0-9_]+")
INVALID_TRAILING = re.compile(r"[^A-Za-z0-9]+\Z")
REPEATED_SPECIAL = re.compile(r"[-_.]{2,}")
CONFUSING_EXTENSIONS = re.compile(
    r"\.(js|json|css|htm|html|xml|jpg|jpeg|png|gif|bmp|ico|tif|tiff|woff)\Z", re.I)
GENERIC_NAMES = {"i", "me", "info", "support", "admin", "webmaster", "hello", "mail", "office",
                 "contact", "team"}
LAST_RESORT_USERNAME = "user"
USER_EMAIL = re.compile(r"([^@]+)@([^.]+)")  # User::EMAIL
HERE_MENTION = "here"  # SiteSetting.here_mention
# ActiveSupport::Inflector.transliterate (I18n's default approximations) for the letters NFKD
# does not decompose; anything else non-ASCII becomes "?".
TRANSLITERATIONS = {"ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
                    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "Th",
                    "þ": "th", "ı": "i"}

SENDER_REFUSED = "sender_refused"
MESSAGES = {  # plugin/config/locales/server.fr.yml (forumsync.errors)
    "account_not_staged": ("L'adresse « {email} » est celle d'un compte du forum, pas d'un "
                           "utilisateur intermédiaire : rien n'est publié en son nom par cette voie."),
    "staging_disabled": ("Le forum ne crée pas d'utilisateurs intermédiaires (réglage "
                         "« enable_staged_users » désactivé) : impossible de publier au nom de "
                         "« {email} »."),
    "email_not_allowed": ("L'adresse « {email} » n'est pas acceptée par le forum (domaines "
                          "autorisés ou bloqués dans ses réglages)."),
    "sender_invalid": "Le forum refuse de créer l'utilisateur de « {email} » : {reason}",
    "sender_conflict": ("L'utilisateur de « {email} » n'a pas pu être créé (créations "
                        "simultanées répétées) ; réessayez plus tard."),
}
ATTEMPTS = 3


class SenderRefused(Exception):
    """The address cannot become a forum user (answered 422 ``sender_refused``)."""

    def __init__(self, key: str, **values):
        self.message = MESSAGES[key].format(**values)
        super().__init__(self.message)


# ------------------------------------------------------------------ addresses
def email_valid(email: str) -> bool:
    """EmailAddressValidator.valid_value? (plus its 64/255 length limits)."""
    text = email or ""
    at = text.find("@")
    if at < 0 or at > MAX_LOCAL or len(text) - at - 1 > MAX_DOMAIN:
        return False
    return EMAIL.fullmatch(text) is not None and ENCODED_WORD.search(text) is None


def _in_restriction_setting(setting: str, email: str) -> bool:
    domains = setting.replace(".", r"\.")
    return re.search(rf"@(.+\.)?({domains})$", email, re.I) is not None


def email_allowed(session, email: str) -> bool:
    """EmailValidator.allowed?: allowed_email_domains wins over blocked_email_domains."""
    allowed = sitesettings.get(session, "allowed_email_domains")
    if allowed:
        return _in_restriction_setting(allowed, email)
    blocked = sitesettings.get(session, "blocked_email_domains")
    if blocked:
        return not _in_restriction_setting(blocked, email)
    return True


# ------------------------------------------------------------------ usernames
def transliterate(text: str) -> str:
    out = []
    for char in unicodedata.normalize("NFKC", text):
        if ord(char) < 128:
            out.append(char)
        elif char in TRANSLITERATIONS:
            out.append(TRANSLITERATIONS[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            out.append(base if base.isascii() and base else "?")
    return "".join(out)


def sanitize_username(name) -> str:
    """UserNameSuggester.sanitize_username (ASCII usernames)."""
    name = transliterate(str(name or ""))
    name = INVALID_CHAR.sub("_", name)
    name = INVALID_LEADING.sub("", name)
    name = CONFUSING_EXTENSIONS.sub("_", name)
    name = INVALID_TRAILING.sub("", name)
    return REPEATED_SPECIAL.sub("_", name)


def parse_name_from_email(name_or_email: str) -> str:
    match = USER_EMAIL.search(name_or_email or "")
    if match is None:
        return name_or_email
    name = match.group(1)
    return match.group(2) if name in GENERIC_NAMES else name


def username_length(session) -> tuple[int, int]:
    return (sitesettings.get(session, "min_username_length"),
            sitesettings.get(session, "max_username_length"))


def rightsize_username(session, name: str) -> str:
    low, high = username_length(session)
    name = INVALID_TRAILING.sub("", name[:high])
    return name + "1" * max(low - len(name), 0)


def fix_username(session, name) -> str:
    fixed = sanitize_username(name)
    return rightsize_username(session, fixed or LAST_RESORT_USERNAME)


def reserved_username(session, username: str) -> bool:
    lower = username.lower()
    if lower == HERE_MENTION:
        return True
    for reserved in filter(None, sitesettings.get(session, "reserved_usernames").split("|")):
        pattern = re.escape(reserved.lower()).replace(r"\*", ".*")
        if re.fullmatch(pattern, lower):
            return True
    return False


_GROUP_NAMED = select(Group.id).where(func.lower(Group.name) == prepared.value("lower"))


def username_exists(session, username: str) -> bool:
    lower = username.lower()
    return (prepared.scalar(session, users.USER_ID_NAMED, lower=lower) is not None
            or prepared.scalar(session, _GROUP_NAMED, lower=lower) is not None)


def username_available(session, username: str) -> bool:
    """User.username_available?: not reserved, no user and no group of that name."""
    return not reserved_username(session, username) and not username_exists(session, username)


def _sql_like(pattern: str) -> re.Pattern:
    """PostgreSQL LIKE / SIMILAR TO wildcards of the suggester's queries: _ and %."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                              for c in pattern))


def _first_free_number(session, name: str) -> int:
    """The suggester's offset query: count names like NAME + digits, then the first free
    NAME + n among 1..count + 10 (the SQL's LIKE/SIMILAR TO see "_" as a wildcard)."""
    normalized = name.lower()
    like = _sql_like(normalized + "%")
    similar = re.compile(_sql_like(normalized).pattern + "[0-9]+")
    lowers = [u.lower() for u in session.scalars(select(User.username))]
    count = sum(1 for u in lowers if like.fullmatch(u) and similar.fullmatch(u))
    if count == 0:
        return 0
    taken = set(lowers)
    for n in range(1, count + 11):
        if f"{normalized}{n}" not in taken:
            return n - 1
    return 0


def suggest_username(session, name_or_email: str) -> str:
    """UserNameSuggester.suggest(name_or_email) on the local forum's users and groups."""
    name = fix_username(session, parse_name_from_email(name_or_email))
    high = username_length(session)[1]
    attempt, i, offset = name, 1, None
    while not username_available(session, attempt) and i <= 100:
        if offset is None:
            offset = _first_free_number(session, name)
        suffix = str(i + offset)
        attempt = name[:high - len(suffix)] + suffix
        i += 1
    while not username_available(session, attempt) and i <= 200:
        attempt = secrets.token_hex(16)[1:high + 1]  # the suggester's last resort
        i += 1
    return attempt


def suggest_name(email: str) -> str:
    """User.suggest_name: the local part, dots as spaces, titleized (ActiveSupport)."""
    if not email:
        return ""
    match = re.match(r"[^@]+", email)
    part = match.group(0) if match else email.rsplit("@", 1)[-1]
    words = re.sub(r"[-_\s]+", " ", part.replace(".", " ")).strip()
    return " ".join(w[:1].upper() + w[1:].lower() for w in words.split(" "))


def username_for(session, email: str, name: str | None, hint: str | None = None) -> str:
    """Receiver: suggest(sanitize_username(display_name).presence || email); the plugin's
    USERNAME_HINT, when given, in place of the display name."""
    name = hint if hint and hint.strip() else name
    sanitized = sanitize_username(name.strip()) if name and name.strip() else ""
    return suggest_username(session, sanitized or email)


# ------------------------------------------------------------------ find or create
def find_or_create(session, email: str, name: str | None,
                   username_hint: str | None = None) -> tuple[User, bool]:
    """The staged user of EMAIL (created True when staged now); raises SenderRefused, also for
    the address of an account that is not staged (StagedUserResolver#check_existing!). A new
    user's username is made from USERNAME_HINT when given, else from NAME."""
    email = email.strip().lower()
    for _ in range(ATTEMPTS):
        user = users.user_by_email(session, email)
        if user is not None:
            if not user.staged:  # only staged users post through this door (the plugin's rule)
                raise SenderRefused("account_not_staged", email=email)
            return user, False
        if not sitesettings.get(session, "enable_staged_users"):
            raise SenderRefused("staging_disabled", email=email)
        if not email_allowed(session, email):
            raise SenderRefused("email_not_allowed", email=email)
        display = name.strip() if name and name.strip() else suggest_name(email)
        username = username_for(session, email, name, username_hint)
        try:
            with session.begin_nested():
                user = users.create_user(session, username, email, display, staged=True,
                                         active=False)
            return user, True
        except IntegrityError:  # another request made this sender (or took the username)
            continue
        except ApiError as exc:  # the user record is refused (or was taken meanwhile)
            if users.user_by_email(session, email) is not None or username_exists(session, username):
                continue
            raise SenderRefused("sender_invalid", email=email, reason=" ".join(exc.errors)) from exc
    raise SenderRefused("sender_conflict", email=email)
