"""The Postfix side of the guide: the transport and recipient tables answer for the bridge
address and its signed reply addresses only (`postmap -q`, Postfix's own lookup), and the
main.cf extract is accepted by `postconf` with no unknown parameter."""
import shutil
import subprocess

import pytest

from tests.deploy.guide import DEPLOY

POSTMAP, POSTCONF = shutil.which("postmap") or "/usr/sbin/postmap", shutil.which("postconf") or "/usr/sbin/postconf"
pytestmark = pytest.mark.skipif(not shutil.os.path.exists(POSTMAP), reason="Postfix absent (./run test l'installe)")
POSTFIX = DEPLOY / "postfix"
LMTP = "lmtp:inet:127.0.0.1:8024"
TOKEN = "aaaaaoiaaaaaa2yuuoo3ivpck23e542zluy5z3i"  # the shape of make_reply_address's tokens


@pytest.fixture
def config_dir(tmp_path):
    """A Postfix configuration directory: Debian's main.cf + the guide's extract."""
    main = "/usr/share/postfix/main.cf.debian"
    text = open(main, encoding="utf-8").read() if shutil.os.path.exists(main) else ""
    extract = (POSTFIX / "main.cf.forumsync").read_text(encoding="utf-8")
    (tmp_path / "main.cf").write_text(text + "\n" + extract.replace("/etc/postfix/", f"{POSTFIX}/"), encoding="utf-8")
    shutil.copy("/usr/share/postfix/master.cf.dist", tmp_path / "master.cf")
    return tmp_path


def lookup(config_dir, table, address):
    result = subprocess.run([POSTMAP, "-c", str(config_dir), "-q", address, f"regexp:{POSTFIX / table}"],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.strip() if result.returncode == 0 else None


@pytest.mark.parametrize("address", ["bistro@forumsync.example.org", f"bistro+{TOKEN}@forumsync.example.org",
                                     "Bistro@ForumSync.example.org"])
def test_bridge_and_reply_addresses_go_to_forumsync_lmtp(config_dir, address):
    assert lookup(config_dir, "forumsync_transport", address) == LMTP
    assert lookup(config_dir, "forumsync_recipients", address) == "OK"


@pytest.mark.parametrize("address", ["postmaster@forumsync.example.org", "bistro@ailleurs.example.org",
                                     "bistro+a.b@forumsync.example.org", "xbistro@forumsync.example.org"])
def test_nothing_else_is_accepted(config_dir, address):
    assert lookup(config_dir, "forumsync_transport", address) is None
    assert lookup(config_dir, "forumsync_recipients", address) is None


def test_main_cf_extract_is_valid(config_dir):
    result = subprocess.run([POSTCONF, "-c", str(config_dir), "-n"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    values = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    assert values["relay_domains"] == "forumsync.example.org"
    assert values["transport_maps"] == f"regexp:{POSTFIX / 'forumsync_transport'}"
    assert values["relay_recipient_maps"] == f"regexp:{POSTFIX / 'forumsync_recipients'}"
