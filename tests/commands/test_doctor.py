"""`forumsync doctor` against a real (local) forum over HTTP: the key, the plugin and its
version, the webhook read from /admin/api/web_hooks.json, site settings, themes, LMTP, SMTP;
each problem with its fix in French, exit 1 when something is down."""
import contextlib

import pytest
import requests
from click.testing import CliRunner

from forumsync.cli import cli
from forumsync.context import Context
from forumsync.demo.themes import THEMES
from forumsync.localforum.plugin_api import VERSION
from forumsync.models import set_state, utcnow
from forumsync.settings import load_settings
from tests.fixtures.database import free_port

def write_settings(tmp_path, forum, *, lmtp_port=None, smtp_url=None, web_url=None, **extra):
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/f.sqlite3",
        "FORUM_URL": forum.url, "FORUM_API_KEY": forum.api_key,
        "FORUM_API_USERNAME": forum.username, "FORUM_WEBHOOK_SECRET": forum.webhook_secret,
        "LOCALFORUM_DATABASE_URL": forum.database_url,
        "WEB_URL": web_url or "http://127.0.0.1:5999",
        "LMTP_LISTEN": f"127.0.0.1:{lmtp_port or free_port()}",
        "SMTP_URL": smtp_url or f"smtp://127.0.0.1:{free_port()}",
        "THEMES": THEMES, "DEFAULT_THEME": "general",
    }
    values.update(extra)
    path = tmp_path / "settings.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    return path


def run_doctor(path):
    result = CliRunner().invoke(cli, ["--settings", str(path), "doctor"])
    assert "Traceback" not in result.output, result.output
    return result


def line_of(output, label):
    return next(line for line in output.splitlines() if label in line)


def healthy_forum(make_localforum, web_url):
    forum = make_localforum(webhook_url=web_url + "/webhooks/discourse")
    forum.set_site_setting("enable_category_group_moderation", True)
    for username, email in (("animation-sve", "animation-sve@meyzieu.fr"),
                            ("opendata-3m", "opendata@montpellier3m.fr"),
                            ("famille-lyon", "famille@grandlyon.com")):
        forum.create_user(username, email)
    return forum


@contextlib.contextmanager
def provisioned_and_served(path, forum):
    """Themes provisioned, a worker heartbeat, and forumsync's web app serving WEB_URL so the
    forum's webhook deliveries succeed (a failed last delivery is a problem doctor reports)."""
    from forumsync.app import create_app
    from forumsync.services import WsgiThread, host_port
    from forumsync.themes.provision import provision

    ctx = Context(load_settings(path))
    host, port = host_port(ctx.settings.WEB_URL, 80)
    web = WsgiThread(create_app(context=ctx), host, port, "forumsync-web").start()
    try:
        provision(ctx)
        forum.wait_webhooks()
        with ctx.db.session() as session:
            set_state(session, "worker:heartbeat", {"at": utcnow().isoformat(), "id": "test"})
        yield ctx
    finally:
        web.stop()
        ctx.close()


def test_local_forum_lists_its_webhook_like_discourse(make_localforum):
    forum = make_localforum(webhook_url="http://127.0.0.1:5999/webhooks/discourse")
    forum.create_user("julien", "julien@villeurbanne.fr")
    body = requests.get(forum.url + "/admin/api/web_hooks.json", headers=forum.headers(), timeout=5).json()
    assert body["total_rows_web_hooks"] == 1
    hook = body["web_hooks"][0]
    assert hook["payload_url"] == "http://127.0.0.1:5999/webhooks/discourse"
    assert hook["secret"] == forum.webhook_secret and hook["active"] is True
    assert hook["content_type"] == 1 and hook["last_delivery_status"] == 1
    assert {"post_created", "topic_edited"} <= {t["name"] for t in hook["web_hook_event_types"]}
    assert {t["id"] for t in hook["web_hook_event_types"]} >= {201, 103}
    assert {"event_types", "content_types", "delivery_statuses"} <= set(body["extras"])
    shown = requests.get(forum.url + "/admin/api/web_hooks/1.json", headers=forum.headers(), timeout=5)
    assert shown.json()["web_hook"] == hook
    # admins only, as Admin::AdminController
    refused = requests.get(forum.url + "/admin/api/web_hooks.json", headers=forum.headers("julien"), timeout=5)
    assert refused.status_code == 403
    # no webhook configured: an empty list
    bare = make_localforum()
    assert requests.get(bare.url + "/admin/api/web_hooks.json", headers=bare.headers(),
                        timeout=5).json()["web_hooks"] == []


@pytest.mark.admin_api_limit(6000)  # provision + every check + doctor twice
def test_doctor_all_good_with_plugin_version(tmp_path, make_localforum, smtp_sink, lmtp_sink):
    web_url = f"http://127.0.0.1:{free_port()}"
    forum = healthy_forum(make_localforum, web_url)
    path = write_settings(tmp_path, forum, lmtp_port=lmtp_sink.port, smtp_url=smtp_sink.url, web_url=web_url)
    with provisioned_and_served(path, forum):
        result = run_doctor(path)
    assert result.exit_code == 0, result.output
    assert "EN PANNE" not in result.output
    assert line_of(result.output, "greffon").startswith("OK")
    assert f"version {VERSION}" in line_of(result.output, "greffon")
    assert line_of(result.output, "webhook vers forumsync").startswith("OK")
    assert line_of(result.output, "enable_category_group_moderation").startswith("OK")
    assert line_of(result.output, "thèmes provisionnés").startswith("OK")
    assert line_of(result.output, "droits de la clé").startswith("OK")
    assert line_of(result.output, "courrier sortant : acceptation").startswith("OK")
    # what the API cannot tell is said, with what to do
    assert "DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE" in result.output


def test_doctor_reports_a_wrong_key_as_a_wrong_key(tmp_path, localforum):
    path = write_settings(tmp_path, localforum, FORUM_API_KEY="pas-la-bonne-cle-0000")
    result = run_doctor(path)
    assert result.exit_code == 1
    access = line_of(result.output, "accès par l'API")
    assert access.startswith("EN PANNE") and "clé d'API refusée" in access
    assert "injoignable" not in result.output.split("Serveur")[0]  # forum lines never say so
    assert "Administration → API → Clés" in result.output


def test_doctor_names_each_forum_problem_with_its_fix(tmp_path, make_localforum):
    web_url = f"http://127.0.0.1:{free_port()}"
    forum = make_localforum(webhook_url="http://ailleurs.example.org/hook")  # wrong URL
    path = write_settings(tmp_path, forum, web_url=web_url)
    result = run_doctor(path)
    assert result.exit_code == 1
    out = result.output
    webhook = line_of(out, "webhook vers forumsync")
    assert webhook.startswith("EN PANNE") and "aucun webhook vers" in webhook
    assert "http://ailleurs.example.org/hook" in webhook
    assert f"URL {web_url}/webhooks/discourse" in out  # the fix names the right URL
    moderation = line_of(out, "enable_category_group_moderation")
    assert moderation.startswith("EN PANNE") and "enable category group moderation" in out
    themes = line_of(out, "thèmes provisionnés")
    assert themes.startswith("EN PANNE") and "forumsync provision" in out
    assert line_of(out, "Serveur LMTP").startswith("EN PANNE")
    assert "forumsync lmtp" in out


def test_doctor_sees_a_wrong_webhook_secret(tmp_path, make_localforum):
    web_url = f"http://127.0.0.1:{free_port()}"
    forum = make_localforum(webhook_url=web_url + "/webhooks/discourse")
    path = write_settings(tmp_path, forum, web_url=web_url, FORUM_WEBHOOK_SECRET="un-autre-secret-123")
    out = run_doctor(path).output
    webhook = line_of(out, "webhook vers forumsync")
    assert webhook.startswith("EN PANNE") and "secret différent" in webhook
    assert "recopiez FORUM_WEBHOOK_SECRET" in out


def test_doctor_with_the_forum_down(tmp_path):
    class Down:
        url = f"http://127.0.0.1:{free_port()}"
        api_key, username, webhook_secret = "k" * 20, "system", "s" * 20
        database_url = f"sqlite:///{tmp_path}/lf.sqlite3"
    result = run_doctor(write_settings(tmp_path, Down))
    assert result.exit_code == 1
    assert any(line.startswith("EN PANNE") and "Forum" in line and "injoignable" in line
               for line in result.output.splitlines())


def test_provision_with_a_wrong_key_says_to_check_the_key(tmp_path, localforum):
    """Operator walkthrough, 28th pass: provision only passed on Discourse's English « You are
    not permitted to view the requested resource. »."""
    path = write_settings(tmp_path, localforum, FORUM_API_KEY="pas-la-bonne-cle-0000")
    result = CliRunner().invoke(cli, ["--settings", str(path), "provision", "--no-progress"])
    assert result.exit_code == 1
    assert "la clé d'API (FORUM_API_KEY) ou son utilisateur (FORUM_API_USERNAME)" in result.output, result.output
