"""`forumsync catalogue sync|list` and the worker's scheduled run."""
from click.testing import CliRunner

from forumsync.catalogue.sync import STATE_KEY, run_scheduled
from forumsync.cli import cli
from forumsync.context import Context
from forumsync.models import get_state, set_state
from tests.fixtures.database import make_settings


def write_settings(tmp_path, sqlite_url, localforum, sources) -> str:
    values = dict(DATABASE_URL=sqlite_url, CATALOGUE_SOURCES=sources, **localforum.settings_overrides)
    path = tmp_path / "settings.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    return str(path)


def test_cli_sync_dry_run_sync_and_list(tmp_path, sqlite_url, localforum, wcs_server):
    wcs_server.add_instance("meyzieu", "Meyzieu")
    wcs_server.add_form("meyzieu", "acte-naissance", "Demande d'acte de naissance")
    wcs_server.add_form("meyzieu", "voirie", "Signaler un problème de voirie")
    settings = write_settings(tmp_path, sqlite_url, localforum, [wcs_server.source("meyzieu")])
    runner = CliRunner()

    dry = runner.invoke(cli, ["--settings", settings, "catalogue", "sync", "--dry-run", "--no-progress"])
    assert dry.exit_code == 0, dry.output
    assert "Simulation (rien n'a été écrit) : 2 ajoutée(s), 0 mise(s) à jour" in dry.output
    empty = runner.invoke(cli, ["--settings", settings, "catalogue", "list"])
    assert "Aucune démarche publiée" in empty.output

    real = runner.invoke(cli, ["--settings", settings, "catalogue", "sync"])
    assert real.exit_code == 0, real.output
    assert "ajoutée : Demande d'acte de naissance [wcs-acte-naissance]" in real.output
    assert "2 ajoutée(s), 0 mise(s) à jour, 0 inchangée(s), 0 retirée(s), 0 erreur(s)" in real.output
    assert "Lecture des sources" not in real.output  # no progress bars off a terminal (cron, journal)
    listing = runner.invoke(cli, ["--settings", settings, "catalogue", "list"])
    assert "wcs-acte-naissance" in listing.output and "Meyzieu" in listing.output
    assert "2 démarche(s)." in listing.output

    wcs_server.instances["meyzieu"].down = True
    down = runner.invoke(cli, ["--settings", settings, "catalogue", "sync", "--no-progress"])
    assert down.exit_code == 1
    assert "erreur : source « meyzieu » (Meyzieu) ignorée" in down.output
    unknown = runner.invoke(cli, ["--settings", settings, "catalogue", "sync", "--source", "x"])
    assert unknown.exit_code == 1 and "source inconnue « x »" in unknown.output
    assert "Traceback" not in unknown.output


def test_worker_task_runs_once_per_interval(tmp_path, sqlite_url, localforum, wcs_server):
    wcs_server.add_instance("meyzieu", "Meyzieu")
    wcs_server.add_form("meyzieu", "voirie", "Signaler un problème de voirie")
    settings = make_settings(tmp_path, sqlite_url, CATALOGUE_SOURCES=[wcs_server.source("meyzieu")],
                             CATALOGUE_INTERVAL_MINUTES=60, **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        assert run_scheduled(ctx, "w1") == 1
        requests_after_first = len(wcs_server.requests)
        assert run_scheduled(ctx, "w1") == 0  # not due: the sources are not even read
        assert len(wcs_server.requests) == requests_after_first
        with ctx.db.session() as s:
            state = get_state(s, STATE_KEY)
            assert "1 ajoutée(s)" in state["summary"]
            set_state(s, STATE_KEY, {"at": "2000-01-01T00:00:00+00:00"})  # long ago
        assert run_scheduled(ctx, "w1") == 0  # due again: read, nothing to write
        assert len(wcs_server.requests) > requests_after_first
    finally:
        ctx.close()
    no_sources = Context(make_settings(tmp_path, sqlite_url))
    try:
        assert run_scheduled(no_sources, "w1") == 0
    finally:
        no_sources.close()


def test_worker_retries_soon_when_the_forum_was_down(tmp_path, sqlite_url, localforum, wcs_server):
    from datetime import datetime, timedelta, timezone

    wcs_server.add_instance("meyzieu", "Meyzieu")
    wcs_server.add_form("meyzieu", "voirie", "Signaler un problème de voirie")
    settings = make_settings(tmp_path, sqlite_url, CATALOGUE_SOURCES=[wcs_server.source("meyzieu")],
                             CATALOGUE_INTERVAL_MINUTES=24 * 60, FORUM_RETRIES=0,
                             **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        localforum.faults.fail(503, seconds=60)
        assert run_scheduled(ctx, "w1") == 0
        with ctx.db.session() as s:
            state = get_state(s, STATE_KEY)
        next_try = datetime.fromisoformat(state["at"]) + timedelta(minutes=24 * 60)
        assert "forum indisponible" in state["errors"][0]
        assert timedelta(minutes=9) < next_try - datetime.now(timezone.utc) <= timedelta(minutes=10)
    finally:
        ctx.close()
