"""« Répondre sur Bistro » and the dashboard's links are pages a person can open: on the local
forum (FORUM_LINK_STYLE = "localforum", the demo) its HTML view, whatever the client's Accept
header (a mail client, curl); on Discourse its usual /t/slug/id/n."""
import requests

from forumsync.forum.links import topic_page_url
from forumsync.outbound.compose import ForumPost, compose_post
from tests.fixtures.database import make_settings


def footer_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(line.split(" : ", 1)[1] for line in text.splitlines() if line.startswith("Répondre sur Bistro : "))


def test_mail_footer_opens_the_local_forum_page(tmp_path, sqlite_url, localforum):
    localforum.create_user("julien", "julien@villeurbanne.fr", "Julien Petit")
    posted = localforum.client("julien").create_post("Chez nous, dix jours ouvrés.", category_id=1,
                                                     title="Délai de l'accusé de réception")
    reply = localforum.client("julien").create_post("Et un rappel à J+5, merci.", topic_id=posted["topic_id"])
    settings = make_settings(tmp_path, sqlite_url, FORUM_LINK_STYLE="localforum", **localforum.settings_overrides)
    mail = compose_post(settings, ForumPost(post_id=reply["id"], topic_id=posted["topic_id"],
                                            post_number=reply["post_number"], username="julien",
                                            author_name="Julien Petit", cooked="<p>Et un rappel à J+5, merci.</p>",
                                            title="Délai de l'accusé de réception",
                                            topic_slug=posted.get("topic_slug") or ""))
    link = footer_link(mail)
    assert link == f"{localforum.url}/ui/t/{posted['topic_id']}#post_2"
    for accept in ("*/*", "text/html", None):
        page = requests.get(link, headers={"Accept": accept} if accept else {}, timeout=10)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html"), accept
        assert "Et un rappel à J+5, merci." in page.text and 'id="post_2"' in page.text
    html_part = mail.get_body(("html",)).get_content()
    assert f'href="{link}"' in html_part


def test_discourse_links_keep_discourse_paths():
    class S:
        FORUM_URL = "https://bistro.example.org"
        FORUM_LINK_STYLE = "discourse"
    assert topic_page_url(S, 7, "etat-de-la-sve", 3) == "https://bistro.example.org/t/etat-de-la-sve/7/3"
    assert topic_page_url(S, 7) == "https://bistro.example.org/t/-/7"
    S.FORUM_LINK_STYLE = "localforum"
    assert topic_page_url(S, 7, "etat-de-la-sve", 3) == "https://bistro.example.org/ui/t/7#post_3"
    assert topic_page_url(S, 7, "x", 1) == "https://bistro.example.org/ui/t/7"
