"""The systemd units of deploy/systemd pass `systemd-analyze verify` (the install prefix swapped
for this checkout's venv, so ExecStart points at a real forumsync) and are hardened
(`systemd-analyze security --offline` exposure)."""
import re
import shutil
import subprocess
import sys

import pytest

from tests.deploy.guide import INSTALL_PREFIX, UNITS

ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze absent (paquet Debian « systemd »)")
MAX_EXPOSURE = 2.0  # « OK » is below 4.0 in systemd's scale; ours must stay well under


@pytest.fixture
def units(tmp_path):
    copies = []
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(INSTALL_PREFIX, sys.prefix), encoding="utf-8")
        copies.append(copy)
    assert {u.name for u in copies} >= {"forumsync-web.service", "forumsync-worker.service",
                                        "forumsync-lmtp.service", "forumsync-backup.service",
                                        "forumsync-backup.timer"}
    return copies


def test_units_verify(units):
    result = subprocess.run([ANALYZE, "verify", "--man=no", *map(str, units)], capture_output=True,
                            text=True, timeout=120)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0 and not problems, "\n".join(problems)


def test_a_broken_unit_is_caught(tmp_path):
    bad = tmp_path / "forumsync-bad.service"
    bad.write_text("[Service]\nType=bogus\nExecStart=/nonexistent/forumsync\n", encoding="utf-8")
    result = subprocess.run([ANALYZE, "verify", "--man=no", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 or result.stderr.strip()


@pytest.mark.parametrize("name", ["forumsync-web.service", "forumsync-worker.service", "forumsync-lmtp.service"])
def test_services_are_hardened(units, name):
    unit = next(u for u in units if u.name == name)
    result = subprocess.run([ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout + result.stderr)
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    assert float(match.group(1)) <= MAX_EXPOSURE, match.group(0)
    text = unit.read_text(encoding="utf-8")
    for option in ("User=forumsync", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                   "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"):
        assert option in text, option
