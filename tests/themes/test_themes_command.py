"""`forumsync themes`: themes, leads, routing rules and bridged counts, in French."""
from __future__ import annotations

from click.testing import CliRunner

from forumsync.cli import cli
from forumsync.commands.themes import describe_themes, theme_counts
from forumsync.models import PostLink, TopicLink, set_state
from forumsync.themes.provision import STATE_KEY


def bridge(session, topic_id, theme, origins):
    session.add(TopicLink(topic_id=topic_id, theme=theme, title=f"Sujet {topic_id}"))
    for n, origin in enumerate(origins, start=1):
        session.add(PostLink(message_id=f"m{topic_id}-{n}@example.org", post_id=topic_id * 100 + n,
                             topic_id=topic_id, post_number=n, origin=origin))


def fill(context):
    with context.db.session() as s:
        bridge(s, 1, "sve", ["list", "list", "forum"])
        bridge(s, 2, "sve", ["list"])
        bridge(s, 3, "open-data", ["forum"])
        bridge(s, 4, "ancien-theme", ["list", "list"])
        bridge(s, 5, None, ["list"])
        set_state(s, STATE_KEY, {"parent": {"category_id": 2}, "themes": {"sve": {"category_id": 7}}})


def test_counts_grouped_by_theme(context):
    fill(context)
    with context.db.session() as s:
        counts = theme_counts(s)
    assert counts["sve"] == {"topics": 2, "messages": 4, "list": 3, "forum": 1}
    assert counts["open-data"] == {"topics": 1, "messages": 1, "list": 0, "forum": 1}
    assert counts[None] == {"topics": 1, "messages": 1, "list": 1, "forum": 0}
    assert "famille" not in counts


def test_lists_themes_leads_routing_and_counts(context):
    fill(context)
    lines = describe_themes(context)
    assert lines[0] == ("Thèmes (4) — catégorie parente « Club Publik », thème par défaut : general")
    sve = lines.index("sve        SVE")
    assert lines[sve + 1:sve + 10] == [
        "  Animé par       : Meyzieu",
        "  Animateurs      : animatrice@meyzieu.fr",
        "  Groupe          : animateurs-sve",
        "  Catégorie       : n° 7",
        "  Adresses        : sve@listes.example.org",
        "  Étiquettes      : [SVE]",
        "  Mots-clés       : saisine, SVE",
        "  Échanges        : 2 sujets, 4 messages (3 de la liste, 1 du forum)",
        "",
    ]
    assert "general    Discussions générales (thème par défaut)" in lines
    famille = lines.index("famille    Portail famille")
    assert lines[famille + 4] == "  Catégorie       : pas encore créée (forumsync provision)"
    assert lines[famille + 8] == "  Échanges        : 0 sujet, 0 message (0 de la liste, 0 du forum)"
    assert "Sans thème : 1 sujet, 1 message (1 de la liste, 0 du forum)" in lines
    assert ("Thème « ancien-theme » absent des réglages : 1 sujet, 2 messages (2 de la liste, "
            "0 du forum)") in lines
    # every detail line is aligned on the same column
    assert {line.index(":") for line in lines if line.startswith("  ")} == {18}


def test_command_shows_lead_accounts_from_the_forum(tmp_path, sqlite_url, localforum):
    localforum.create_user("animatrice", "animatrice@meyzieu.fr", "Anne")
    settings_file = tmp_path / "reglages.py"
    settings_file.write_text(
        f"DATABASE_URL = {sqlite_url!r}\n"
        + "".join(f"{k} = {v!r}\n" for k, v in localforum.settings_overrides.items())
        + "THEMES = [dict(slug='sve', name='SVE', lead='Meyzieu', "
          "lead_emails=['animatrice@meyzieu.fr', 'personne@meyzieu.fr'])]\n",
        encoding="utf-8")
    out = CliRunner().invoke(cli, ["--settings", str(settings_file), "themes", "--forum"])
    assert out.exit_code == 0, out.output
    assert ("  Animateurs      : animatrice@meyzieu.fr (animatrice), personne@meyzieu.fr "
            "(pas de compte sur le forum)") in out.output
    assert "Thèmes (1) — catégorie parente « Club Publik », thème par défaut : sve" in out.output
