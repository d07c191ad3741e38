"""`forumsync themes`: the themes, their leads, routing rules and bridged counts (French)."""
from __future__ import annotations

import click
from sqlalchemy import func, select

from ..models import PostLink, TopicLink
from .terminal import say

LABEL_WIDTH = 16


def theme_counts(session) -> dict:
    """{theme slug or None: {"topics": n, "messages": n, "list": n, "forum": n}}."""
    counts: dict = {}
    for theme, n in session.execute(select(TopicLink.theme, func.count()).group_by(TopicLink.theme)):
        counts.setdefault(theme, {"topics": 0, "messages": 0, "list": 0, "forum": 0})["topics"] = n
    rows = session.execute(
        select(TopicLink.theme, PostLink.origin, func.count())
        .join(TopicLink, TopicLink.topic_id == PostLink.topic_id)
        .group_by(TopicLink.theme, PostLink.origin))
    for theme, origin, n in rows:
        entry = counts.setdefault(theme, {"topics": 0, "messages": 0, "list": 0, "forum": 0})
        entry["messages"] += n
        if origin in ("list", "forum"):
            entry[origin] += n
    return counts


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _line(label: str, value: str) -> str:
    return f"  {label.ljust(LABEL_WIDTH)}: {value}"


def _exchanges(entry: dict | None) -> str:
    entry = entry or {"topics": 0, "messages": 0, "list": 0, "forum": 0}
    return (f"{_plural(entry['topics'], 'sujet')}, {_plural(entry['messages'], 'message')} "
            f"({entry['list']} de la liste, {entry['forum']} du forum)")


def describe_themes(ctx, usernames: dict[str, str | None] | None = None) -> list[str]:
    """The lines `forumsync themes` prints; USERNAMES maps lead emails to forum usernames."""
    from ..themes.desired import lead_group
    from ..themes.provision import category_id_for_theme

    settings = ctx.settings
    themes = settings.THEMES
    with ctx.db.session() as session:
        counts = theme_counts(session)
    lines = [f"Thèmes ({len(themes)}) — catégorie parente « {settings.PARENT_CATEGORY} », "
             f"thème par défaut : {settings.DEFAULT_THEME or '—'}",
             "Routage d'un nouveau sujet : 1. adresse de destination, 2. [ÉTIQUETTE] du sujet, "
             f"3. mots-clés (l'objet d'abord ; le corps seul doit atteindre le score "
             f"{settings.THEME_BODY_MIN_SCORE}), 4. thème par défaut.", ""]
    slug_width = max((len(t["slug"]) for t in themes), default=0)
    for theme in themes:
        slug = theme["slug"]
        default = " (thème par défaut)" if slug == settings.DEFAULT_THEME else ""
        lines.append(f"{slug.ljust(slug_width)}  {theme['name']}{default}")
        lines.append(_line("Animé par", theme.get("lead") or "—"))
        leads = []
        for email in theme.get("lead_emails") or []:
            if usernames is None:
                leads.append(email)
            elif usernames.get(email):
                leads.append(f"{email} ({usernames[email]})")
            else:
                leads.append(f"{email} (pas de compte sur le forum)")
        lines.append(_line("Animateurs", ", ".join(leads) or "—"))
        lines.append(_line("Groupe", lead_group(theme)))
        category_id = category_id_for_theme(ctx, slug)
        lines.append(_line("Catégorie", f"n° {category_id}" if category_id else
                           "pas encore créée (forumsync provision)"))
        lines.append(_line("Adresses", ", ".join(theme.get("addresses") or []) or "—"))
        lines.append(_line("Étiquettes", ", ".join(f"[{t}]" for t in theme.get("tags") or []) or "—"))
        lines.append(_line("Mots-clés", ", ".join(theme.get("keywords") or []) or "—"))
        lines.append(_line("Échanges", _exchanges(counts.get(slug))))
        lines.append("")
    known = {t["slug"] for t in themes}
    for theme, entry in sorted(counts.items(), key=lambda item: str(item[0])):
        if theme in known:
            continue
        label = "Sans thème" if theme is None else f"Thème « {theme} » absent des réglages"
        lines.append(f"{label} : {_exchanges(entry)}")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


@click.command("themes")
@click.option("--forum", "ask_forum", is_flag=True,
              help="Cherche aussi sur le forum le compte de chaque animateur.")
@click.pass_obj
def themes_command(obj, ask_forum):
    """Liste les thèmes, leurs animateurs, les règles de routage et les échanges passés."""
    ctx = obj.context
    usernames = None
    if ask_forum:
        from ..forum.gateway import ForumError

        usernames = {}
        try:
            for theme in ctx.settings.THEMES:
                for email in theme.get("lead_emails") or []:
                    user = ctx.forum.user_by_email(email)
                    usernames[email] = user["username"] if user and not user.get("staged") else None
        except ForumError as exc:
            raise click.ClickException(f"forum injoignable : {exc}") from None
    for line in describe_themes(ctx, usernames):
        say(line)


COMMANDS = [themes_command]
