"""What the demo prints once started: where each part listens, the theme leads' accounts,
and ready-made commands to try (mail to the list, a reply by email, forumsync's commands)."""
from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from ..forum.links import topic_page_url
from .config import DEMO_PASSWORD, DEMO_USERS

REPLY_SENDER = "julien.petit@villeurbanne.fr"  # a list member with a forum account (« julien »)


def forumsync_command() -> str:
    """How to call forumsync from the user's shell (the venv's script when not on PATH)."""
    if shutil.which("forumsync"):
        return "forumsync"
    script = Path(sys.executable).with_name("forumsync")
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)

def reply_example(ctx) -> dict | None:
    """A topic imported from the sample archive: its title, its root Message-ID and a signed
    reply address, for the ready-made « reply by email » commands."""
    from sqlalchemy import select

    from ..models import PostLink, TopicLink
    from ..outbound.replykeys import make_reply_address

    with ctx.db.session() as session:
        row = session.execute(
            select(PostLink.message_id, TopicLink.title, TopicLink.topic_id)
            .join(TopicLink, TopicLink.topic_id == PostLink.topic_id)
            .where(PostLink.origin == "list", TopicLink.theme == "sve")
            .order_by(PostLink.id.desc()).limit(1)).first()
        if row is None:
            row = session.execute(
                select(PostLink.message_id, TopicLink.title, TopicLink.topic_id)
                .join(TopicLink, TopicLink.topic_id == PostLink.topic_id)
                .where(PostLink.origin == "list").order_by(PostLink.id.desc()).limit(1)).first()
    if row is None:
        return None
    message_id, title, topic_id = row
    return {"message_id": message_id, "title": title, "topic_id": topic_id,
            "reply_address": make_reply_address(ctx.settings, REPLY_SENDER, topic_id)}

def leads(settings) -> list[str]:
    names = {email: (username, name) for username, email, name in DEMO_USERS}
    lines = []
    for theme in settings.THEMES:
        for email in theme.get("lead_emails") or []:
            if email in names:
                username, name = names[email]
                lines.append(f"« {username} » — {name} — anime le thème « {theme['name']} » : "
                             f"membre du groupe animateurs-{theme['slug']}, modérateur de sa "
                             f"catégorie.")
    return lines

def describe(ctx, workdir: Path, settings_file: Path | None = None) -> str:
    """What the demo prints once started: where everything is, and what to try."""
    s = ctx.settings
    lmtp_host, lmtp_port = s.LMTP_LISTEN.rsplit(":", 1)
    fs = forumsync_command()
    settings_file = settings_file or (workdir / "settings.py")
    example = reply_example(ctx)
    lines_of_leads = leads(s)
    lead_user = lines_of_leads[0].split("»")[0].lstrip("« ").strip() if lines_of_leads else "julien"
    lines = [
        "",
        "La démo forumsync tourne. Tout est local (SQLite), rien ne sort de cette machine.",
        "",
        f"  Forum local (Bistro)   {s.FORUM_URL}/",
        "                         (poster au nom d'un membre : choisissez « julien » dans le formulaire)",
        f"  Tableau de bord        {s.WEB_URL}/   (mot de passe de démo : {DEMO_PASSWORD})",
        f"  LMTP de forumsync      {s.LMTP_LISTEN}",
        f"  Courriels « liste »    {workdir / 'maildir'}",
        f"                         (Maildir : mutt -f {workdir / 'maildir'}, ou ls {workdir / 'maildir' / 'new'})",
        f"  Base de forumsync      {s.DATABASE_URL.removeprefix('sqlite:///')}",
        f"  Base du forum local    {s.LOCALFORUM_DATABASE_URL.removeprefix('sqlite:///')}",
        f"  Réglages de la démo    {settings_file}",
        "",
        "Animateurs de thème (comptes du forum local, sans mot de passe : choisissez-les dans les formulaires) :",
    ]
    lines += [f"  {line}" for line in lines_of_leads] or ["  (aucun)"]
    lines += [
        f"  Sur un sujet de son thème, « {lead_user} » peut le fermer, l'archiver ou le déplacer",
        "  (boutons en bas du sujet) : les réponses de la liste suivent le sujet déplacé, et une",
        "  réponse à un sujet fermé n'y est pas écrite : elle ouvre la suite du sujet dans son thème.",
        "",
        "À essayer :",
        "  1. Ouvrez le forum : les sujets de l'archive d'exemple sont rangés par thème (SVE, Open data,",
        "     Portail famille…), le catalogue des démarches et l'annuaire des collectivités sont publiés.",
        "  2. Envoyez un message « à la liste » et regardez-le apparaître sur le forum :",
        f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {s.LIST_ADDRESS} \\",
        "             --from marie@meyzieu.fr --header \"Subject: [SVE] Accusé de réception\" \\",
        "             --body \"Bonjour, comment gérez-vous l'accusé de réception SVE ?\"",
    ]
    if example:
        subject = shlex.quote(f"Subject: Re: {example['title']}")
        lines += [
            f"  3. Répondez par courriel au sujet « {example['title']} » (sujet {example['topic_id']}) :",
            "     comme un abonné de la liste (le message cité est reconnu par son Message-ID) :",
            f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {s.LIST_ADDRESS} \\",
            f"             --from {REPLY_SENDER} --header {subject} \\",
            f"             --header \"In-Reply-To: <{example['message_id']}>\" \\",
            "             --body \"Chez nous aussi, merci pour le partage.\"",
            "     ou comme le destinataire d'un courriel personnel (adresse de réponse signée) :",
            f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {example['reply_address']} \\",
            f"             --from {REPLY_SENDER} --header {subject} --body \"Réponse par l'adresse signée.\"",
            f"     La réponse apparaît à la suite du sujet : {topic_page_url(s, example['topic_id'])}",
        ]
    lines += [
        "  4. Répondez sur le forum (en tant que « julien ») : le courriel part vers la liste, il arrive",
        "     dans le Maildir ci-dessus, bien enfilé (In-Reply-To, References).",
        "  5. Le tableau de bord montre l'état de la passerelle, la quarantaine et l'activité par thème.",
        "  6. Les commandes travaillent sur les bases de la démo avec ses réglages :",
        f"       {fs} --settings {settings_file} themes",
        f"       {fs} --settings {settings_file} inbox list",
        f"       {fs} --settings {settings_file} doctor",
        "",
        "Ctrl-C pour tout arrêter.",
        "",
    ]
    return "\n".join(lines)
