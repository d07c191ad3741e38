"""Is the claimed author really the author? The list MTA's ``Authentication-Results`` say.

Discourse's model (``email_in_authserv_id`` + ``Email::AuthenticationResults``): only the
headers whose authserv-id is exactly the one of the MTA we trust (setting ``AUTHSERV_ID``)
count; any other ``Authentication-Results`` header was written by someone else (a sender
can add as many as they like). Like Discourse, a ``fail`` beats a ``pass`` and no trusted
header (or no ``AUTHSERV_ID``) gives no verdict at all.

Stricter than Discourse in one way: the verdict is about one *address*. A DMARC result
names the domain it checked (``header.from``); when it names another domain than the
address we would post under (a DMARC-munged mail whose Reply-To / X-Original-From claims
someone else than the authenticated author), the claim is refuted: ``fail``. Without
``header.from``, a DMARC result is about the mail's own From (never about a munged mail's
recovered author). Aligned DKIM (``header.d``/``header.i``) and SPF (``smtp.mailfrom``)
results count the same way when no DMARC result speaks for the domain.

Parsing uses the ``authres`` library (RFC 8601); a header it cannot parse counts as absent.
The value is read as the MTA wrote it, folding undone and nothing decoded: an RFC 2047
encoded word (``=?us-ascii?q?mx.listes…?=``) is not our MTA's authserv-id for the MTA, which
leaves such a header in place, so it must not be ours for forumsync either (red-team pass 12).
A value with an encoded word, 8-bit or control characters counts as absent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import authres

from .headers import raw_header_all

PASS, FAIL, NONE = "pass", "fail", "none"
_FAILING = {"fail", "permerror"}  # RFC 8601 2.7: softfail/neutral/temperror are no verdict


@dataclass(frozen=True)
class Result:
    method: str           # dmarc, dkim, spf
    result: str           # pass, fail, none…
    domain: str | None    # the domain the result is about (header.from, header.d, smtp.mailfrom)


@dataclass(frozen=True)
class Verdict:
    status: str                       # PASS, FAIL or NONE
    reason: str                       # French, for the inbox row and the operator
    results: tuple = field(default=())


def trusted_results(msg, authserv_id: str | None) -> list[Result]:
    """The results of the headers our MTA wrote (authserv-id exactly ``authserv_id``)."""
    if not authserv_id:
        return []
    found = []
    for value in raw_header_all(msg, "Authentication-Results"):
        value = " ".join(str(value).split())  # unfolded (RFC 5322 2.2.3), never decoded
        if _NOT_AS_WRITTEN_BY_AN_MTA.search(value):
            continue
        if raw_authserv_id(value) != authserv_id:  # exact, as Discourse (authres lower-cases it)
            continue
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # noqa: BLE001 - attacker-shaped text: unparsable means absent
            continue
        for item in header.results or []:
            found.append(Result(method=str(item.method).lower(), result=str(item.result).lower(),
                                domain=_domain_of(item)))
    return found


# RFC 8601 values are ASCII, without encoded words (section 2.2: no RFC 2047 in this field).
_NOT_AS_WRITTEN_BY_AN_MTA = re.compile(r"=\?|[^\x20-\x7e]")
_LEADING_COMMENTS = re.compile(r"^\s*(?:\([^()]*\)\s*)*")
_AUTHSERV = re.compile(r'"([^"]*)"|([^\s";]*)')


def raw_authserv_id(value: str) -> str:
    """The authserv-id as written (RFC 8601 2.2: after optional comments, a value)."""
    rest = _LEADING_COMMENTS.sub("", value or "", count=1)
    match = _AUTHSERV.match(rest)
    return (match.group(1) if match.group(1) is not None else match.group(2)) if match else ""


def _domain_of(item) -> str | None:
    props = {(str(p.type).lower(), str(p.name).lower()): str(p.value or "") for p in item.properties or []}
    method = str(item.method).lower()
    if method == "dmarc":
        value = props.get(("header", "from"))
    elif method == "dkim":
        value = props.get(("header", "d")) or props.get(("header", "i"))
    elif method == "spf":
        value = props.get(("smtp", "mailfrom")) or props.get(("smtp", "helo"))
    else:
        return None
    if not value:
        return None
    return value.rpartition("@")[2].strip().strip("<>").rstrip(".").lower() or None


def aligned(domain: str, other: str) -> bool:
    """Relaxed alignment (RFC 7489 3.1): same domain, or one is a subdomain of the other."""
    domain, other = domain.lower(), other.lower()
    return domain == other or domain.endswith("." + other) or other.endswith("." + domain)


def verdict(msg, authserv_id: str | None, address: str, *, from_header_domain: str | None = None) -> Verdict:
    """The verdict for ADDRESS (the address the message would be posted under).

    ``from_header_domain``: the domain of the mail's own From (a result without a named
    domain is about that one only)."""
    if not authserv_id:
        return Verdict(NONE, "aucune vérification : AUTHSERV_ID n'est pas réglé")
    domain = (address or "").rpartition("@")[2].lower()
    results = trusted_results(msg, authserv_id)
    if not domain:
        return Verdict(NONE, "expéditeur sans adresse", tuple(results))
    if not results:
        return Verdict(NONE, f"aucun résultat d'authentification de {authserv_id}", tuple(results))

    def about(result: Result) -> str | None:
        # Only a result naming its domain (header.from) counts: a bare "dmarc=pass" is not
        # credited to whatever domain forumsync read in From (its reading may differ from
        # the MTA's).
        return result.domain

    dmarc = [r for r in results if r.method == "dmarc" and about(r)]
    mine = [r for r in dmarc if about(r) == domain]
    unnamed = [r for r in results if r.method == "dmarc" and not r.domain]  # a fail still counts
    if any(r.result in _FAILING for r in mine + unnamed):
        return Verdict(FAIL, f"DMARC en échec pour {domain} (selon {authserv_id})", tuple(results))
    others = [r for r in dmarc if r.domain and r.domain != domain]  # named explicitly only
    if others and not mine:
        return Verdict(FAIL, f"l'auteur authentifié par {authserv_id} est de {about(others[0])}, "
                       f"pas de {domain}", tuple(results))
    side = [r for r in results if r.method in ("dkim", "spf") and r.domain and aligned(r.domain, domain)]
    if any(r.result in _FAILING for r in side):
        failed = next(r for r in side if r.result in _FAILING)
        return Verdict(FAIL, f"{failed.method.upper()} aligné en échec pour {domain} "
                       f"(selon {authserv_id})", tuple(results))
    if any(r.result == "pass" for r in mine):
        return Verdict(PASS, f"DMARC réussi pour {domain} (selon {authserv_id})", tuple(results))
    if any(r.result == "pass" for r in side):
        return Verdict(PASS, f"signature alignée valide pour {domain} (selon {authserv_id})",
                       tuple(results))
    return Verdict(NONE, f"pas de verdict de {authserv_id} pour {domain}", tuple(results))
