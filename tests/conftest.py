"""Shared fixtures; each area's fixtures live in tests/fixtures/<area>.py (loaded below).

Real test data (the list archives and the w.c.s. exports) is not in the repository: it holds
real names and addresses. It is read at test time from ``FORUMSYNC_TESTDATA`` (default
``../shared`` beside the checkout) through ``real_data()``: a test that needs it is skipped,
with the reason, when it is absent, except under ``CI=true`` where absence is a failure.
"""
import os
import pkgutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

import tests.fixtures as _fixtures

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("FORUMSYNC_TESTDATA") or ROOT.parent / "shared")


def real_data(*parts: str) -> Path:
    """The real data file or folder TESTDATA/parts…; skip (fail under CI) when it is absent."""
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        reason = (f"données de test absentes : {path} (FORUMSYNC_TESTDATA désigne le dossier "
                  f"qui contient corpus/ et wcs/ ; par défaut ../shared)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


# Hypothesis's per-example deadline (200 ms) measures the machine, not the code: on 2 shared
# cores under xdist a 0.2 ms example can wait 250 ms for a core, and the test fails as
# "flaky". No deadline; every example still has to pass (a test may set its own deadline).
# Under CI=true the examples are derived from each test's name (derandomize): CI gives the
# same answer for the same code; exploration with fresh random examples happens on every
# developer run.
hypothesis_settings.register_profile("forumsync", deadline=None,
                                     derandomize=os.environ.get("CI") == "true")
hypothesis_settings.load_profile("forumsync")

# Slow by nature: the load tests (thousands of mails), and the fault tests that start
# forumsync as processes to kill and restart them (the others, socket-level, stay in the fast
# lane so that it exercises the faults area too).
SLOW_FOLDERS = ("load",)
PROCESS_FOLDERS = ("faults",)
# Marks that are slow by nature: a real Mailman 3, a real browser.
SLOW_MARKS = ("mailman", "browser")
# Where the socket is the point: their local forums are reached over HTTP, not in-process.
SOCKET_FOLDERS = ("load", "faults", "deploy")


def _shares_a_module_fixture(item) -> bool:
    """Whether ITEM uses a fixture set up once per module (a Mailman, a browser, a pool)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in ("module", "class", "package")
               for defs in info.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Mark the slow tests (and run them first); ``FORUMSYNC_FAST=1`` (``./run test --fast``)
    leaves them out. Tests sharing a module fixture are one xdist group (``--dist loadgroup``
    in ./run), so one worker starts that Mailman or browser instead of each worker.

    The fast lane keeps every area once: each test module still runs on SQLite, and the
    PostgreSQL variants run for the storage tests (tests/test_db.py) only."""
    fast = os.environ.get("FORUMSYNC_FAST") == "1"
    kept, left_out = [], []
    for item in items:
        parts = Path(item.fspath).relative_to(ROOT / "tests").parts
        starts_processes = parts[0] in PROCESS_FOLDERS and "procs" in item.fixturenames
        if (parts[0] in SLOW_FOLDERS or starts_processes
                or any(item.get_closest_marker(m) for m in SLOW_MARKS)):
            item.add_marker(pytest.mark.slow)
        if parts[0] in SOCKET_FOLDERS or any(item.get_closest_marker(m) for m in SLOW_MARKS):
            item.add_marker(pytest.mark.forum_socket)
        if _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(Path(item.fspath).relative_to(ROOT).as_posix()))
        postgres_elsewhere = item.get_closest_marker("postgres") and parts[-1] != "test_db.py"
        if fast and (item.get_closest_marker("slow") or postgres_elsewhere):
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
    # The slow tests first: under xdist each starts while the short ones fill the other
    # workers, instead of one of them running alone at the end (stable: same order everywhere).
    items[:] = sorted(kept, key=lambda item: item.get_closest_marker("slow") is None)


pytest_plugins = [f"tests.fixtures.{info.name}" for info in pkgutil.iter_modules(_fixtures.__path__)]
