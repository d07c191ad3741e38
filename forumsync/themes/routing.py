"""Which theme a new topic goes to: a pure function of the message and the themes, with
scores an operator can read (``forumsync inbox show``).

A theme address among the recipients decides alone (the sender chose the theme). Otherwise
each theme scores its hits: a ``[TAG]`` of the subject ``TAG_POINTS``, each keyword in the
subject ``SUBJECT_POINTS``, each occurrence of a keyword in the author's words one point
(at most ``BODY_CAP``, so one subject hit outweighs any body). The best score wins, ties in
the order of THEMES. A score made of body mentions alone must reach the ``body_min_score``
threshold (setting ``THEME_BODY_MIN_SCORE``) to beat the default theme: a forwarded text that
names « cantine » once, in passing, is not about the family portal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from forumsync.mail.subjects import fold

TAG_POINTS = 100
SUBJECT_POINTS = 10
BODY_CAP = SUBJECT_POINTS - 1
MAX_BODY_CHARS = 20000  # keywords deep in a long mail are weak signals, and costly


@dataclass(frozen=True)
class Hit:
    """One reason a theme scored: where (« adresse », « étiquette », « sujet », « message »)."""
    where: str
    what: str
    count: int
    points: int

    def describe(self) -> str:
        if self.where == "adresse":
            return f"adresse {self.what} parmi les destinataires"
        if self.where == "étiquette":
            return f"étiquette [{self.what}] dans le sujet"
        times = f" ×{self.count}" if self.count > 1 else ""
        return f"mot-clé « {self.what} »{times} dans {'le sujet' if self.where == 'sujet' else 'le message'}"


@dataclass(frozen=True)
class ThemeScore:
    slug: str
    points: int
    hits: tuple[Hit, ...]

    @property
    def body_only(self) -> bool:
        return all(hit.where == "message" for hit in self.hits)

    def describe(self) -> str:
        return f"{self.slug} {self.points} ({' ; '.join(h.describe() for h in self.hits)})"


@dataclass(frozen=True)
class Routing:
    slug: str | None
    reason: str
    scores: tuple[ThemeScore, ...] = field(default=())  # themes that scored, best first


@lru_cache(maxsize=512)
def _keyword_pattern(keyword: str) -> re.Pattern:
    words = [re.escape(w) for w in fold(keyword).split()]
    return re.compile(r"(?<!\w)" + r"[\s\-_]+".join(words) + r"(?!\w)")


def _count(keyword: str, folded: str) -> int:
    words = fold(keyword).split()
    if not words or words[0] not in folded:  # cheap test first: most mail names no keyword
        return 0
    return len(_keyword_pattern(keyword).findall(folded))


def _score(theme: dict, tags: list[str], title: str, body: str) -> ThemeScore:
    hits: list[Hit] = []
    theme_tags = {fold(t) for t in theme.get("tags") or []}
    for tag in tags:
        if fold(tag) in theme_tags:
            hits.append(Hit("étiquette", tag, 1, TAG_POINTS))
    body_hits = []
    for keyword in theme.get("keywords") or []:
        if not keyword.strip():
            continue
        if _count(keyword, title):
            hits.append(Hit("sujet", keyword, 1, SUBJECT_POINTS))
        count = _count(keyword, body)
        if count:
            body_hits.append(Hit("message", keyword, count, count))
    body_points = min(BODY_CAP, sum(h.points for h in body_hits))
    points = sum(h.points for h in hits) + body_points
    return ThemeScore(theme["slug"], points, tuple(hits + body_hits))


def route(themes: list[dict], default: str | None, *, recipients=(), tags=(), title: str = "",
          body: str = "", body_min_score: int = 2) -> Routing:
    """The theme of a new topic and why (French), with every theme's score. A theme not relayed
    to the list (``mirrored`` False) takes no list mail: the asker would never see the answers
    (red team, 31st pass). Keywords are looked for in the subject's bracketed tags too
    (« [Portail famille] Inscriptions 2025 »: the tags leave the title)."""
    themes = [theme for theme in themes if theme.get("mirrored", True)]
    wanted = {r.lower() for r in recipients}
    known = {fold(tag) for theme in themes for tag in theme.get("tags") or []}  # they score as tags
    folded_title = " ".join([fold(title or ""), *(fold(tag) for tag in tags if fold(tag) not in known)])
    folded_body = fold((body or "")[:MAX_BODY_CHARS])
    scores = [_score(theme, list(tags), folded_title, folded_body) for theme in themes]
    ranked = tuple(sorted((s for s in scores if s.points), key=lambda s: -s.points))  # stable: THEMES order
    for theme in themes:
        for address in theme.get("addresses") or []:
            if address.lower() in wanted:
                return Routing(theme["slug"], Hit("adresse", address, 1, 0).describe(), ranked)
    if ranked:
        best = ranked[0]
        if not best.body_only:
            return Routing(best.slug, best.hits[0].describe(), ranked)
        summary = ", ".join(h.describe().removeprefix("mot-clé ").removesuffix(" dans le message")
                            for h in best.hits)
        if best.points >= body_min_score:
            return Routing(best.slug, f"mots-clés dans le message : {summary} (score {best.points}, "
                                      f"seuil {body_min_score})", ranked)
        return Routing(default, f"thème par défaut (mots-clés dans le message : {summary} pour "
                                f"« {best.slug} », score {best.points} sous le seuil {body_min_score})", ranked)
    return Routing(default, "thème par défaut", ranked)
