"""The Postfix side of the guide: the transport and recipient tables answer for the bridge
address and its signed reply addresses only (`postmap -q`, Postfix's own lookup), and the guide's
procedure, run as written on a main.cf that already has Mailman 3's lines, adds forumsync's
entries to Mailman's instead of replacing them (`postconf`: no « overriding earlier entry », no
unknown parameter)."""
import os
import re
import shutil
import subprocess

import pytest

from tests.deploy.guide import DEPLOY, GUIDE, ROOT, sh_blocks, shell_lines

POSTMAP, POSTCONF = shutil.which("postmap") or "/usr/sbin/postmap", shutil.which("postconf") or "/usr/sbin/postconf"
pytestmark = pytest.mark.skipif(not shutil.os.path.exists(POSTMAP), reason="Postfix absent (./run test l'installe)")
POSTFIX = DEPLOY / "postfix"
LMTP = "lmtp:inet:127.0.0.1:8034"
TOKEN = "aaaaaoiaaaaaa2yuuoo3ivpck23e542zluy5z3i"  # the shape of make_reply_address's tokens
# What Debian's mailman3 package (README.Debian) and Mailman 3's MTA guide put in main.cf.
MAILMAN_LINES = """
# Mailman 3
owner_request_special = no
transport_maps = hash:/var/lib/mailman3/data/postfix_lmtp
local_recipient_maps = proxy:unix:passwd.byname $alias_maps hash:/var/lib/mailman3/data/postfix_lmtp
relay_domains = hash:/var/lib/mailman3/data/postfix_domains
"""
MAILMAN_LMTP = "hash:/var/lib/mailman3/data/postfix_lmtp"
MAILMAN_DOMAINS = "hash:/var/lib/mailman3/data/postfix_domains"


def postfix_dir(path, extra=""):
    """A Postfix configuration directory: Debian's main.cf (+ EXTRA lines) and master.cf."""
    path.mkdir(exist_ok=True)
    main = "/usr/share/postfix/main.cf.debian"
    text = open(main, encoding="utf-8").read() if shutil.os.path.exists(main) else "compatibility_level = 3.6\n"
    (path / "main.cf").write_text(text + extra, encoding="utf-8")
    shutil.copy("/usr/share/postfix/master.cf.dist", path / "master.cf")
    return path


@pytest.fixture
def config_dir(tmp_path):
    return postfix_dir(tmp_path / "postfix")


def guide_postfix_lines() -> list[str]:
    section = GUIDE.read_text(encoding="utf-8").split("## 5. Postfix", 1)[1].split("\n## ", 1)[0]
    return shell_lines(sh_blocks(section)[0])


def apply_guide(config_dir) -> list[subprocess.CompletedProcess]:
    """Run the guide's Postfix commands as written, with /etc/postfix swapped for CONFIG_DIR and
    /srv/forumsync for this checkout; postconf and postmap get « -c CONFIG_DIR ». `postfix check`
    and `systemctl` need a running system and are left out."""
    results = []
    env = dict(os.environ, PATH=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    for line in guide_postfix_lines():
        line = re.sub(r"^sudo ", "", line).replace("/srv/forumsync/", f"{ROOT}/").replace("/etc/postfix", str(config_dir))
        if line.startswith(("postfix ", "systemctl ")):
            continue
        line = re.sub(r"^(postconf|postmap)\b", rf"\1 -c {config_dir}", line)
        result = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
        results.append(result)
    return results


def postconf_n(config_dir) -> dict[str, list[str]]:
    """`postconf -n`, each value split into its entries; a warning fails the test."""
    result = subprocess.run([POSTCONF, "-c", str(config_dir), "-n"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    values = dict(line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    return {name: [entry for entry in re.split(r"[\s,]+", value) if entry] for name, value in values.items()}


def answer(config_dir, tables, address):
    """The first answer of TABLES (a lookup list) for ADDRESS, as Postfix would search it."""
    for table in tables:
        result = subprocess.run([POSTMAP, "-c", str(config_dir), "-q", address, table],
                                capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return result.stdout.strip()
    return None


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


def test_the_guide_adds_forumsync_to_mailmans_settings(tmp_path):
    config = postfix_dir(tmp_path / "postfix", MAILMAN_LINES)
    outputs = apply_guide(config)
    assert not any("overriding" in r.stdout + r.stderr for r in outputs)
    values = postconf_n(config)  # no « overriding earlier entry », no unknown parameter
    assert values["relay_domains"] == [MAILMAN_DOMAINS, "forumsync.example.org"]
    assert values["transport_maps"] == [f"regexp:{config}/forumsync_transport", MAILMAN_LMTP]
    assert values["relay_recipient_maps"] == [f"regexp:{config}/forumsync_recipients",
                                              f"regexp:{config}/forumsync_relay_others"]
    assert values["local_recipient_maps"] == ["proxy:unix:passwd.byname", "$alias_maps", MAILMAN_LMTP]
    assert values["owner_request_special"] == ["no"]
    assert values["message_size_limit"] == ["26214400"] and values["lmtp_connect_timeout"] == ["10s"]
    # the guide's own checks: both postmap -q answer forumsync's LMTP
    assert [r.stdout.strip() for r in outputs if r.args[-1].startswith("postmap")] == [LMTP, LMTP]


def test_mailmans_addresses_are_still_accepted_and_the_bridges_subdomain_filtered(tmp_path):
    config = postfix_dir(tmp_path / "postfix", MAILMAN_LINES)
    apply_guide(config)
    tables = postconf_n(config)["relay_recipient_maps"]
    # relay_recipient_maps was empty: Postfix accepted every address of Mailman's domains, still does
    for address in ("club@listes.example.org", "club-request@listes.example.org"):
        assert answer(config, tables, address) == "OK"
    assert answer(config, tables, f"bistro+{TOKEN}@forumsync.example.org") == "OK"
    for address in ("postmaster@forumsync.example.org", "club@forumsync.example.org"):
        assert answer(config, tables, address) is None
    transport = postconf_n(config)["transport_maps"]
    assert answer(config, transport[:1], "club@listes.example.org") is None  # left to Mailman's table


def test_an_existing_relay_recipient_list_is_not_loosened(tmp_path):
    config = postfix_dir(tmp_path / "postfix", MAILMAN_LINES + "relay_recipient_maps = hash:/etc/postfix/relay_recipients\n"
                         "message_size_limit = 0\nlmtp_connect_timeout = 30s\n")
    apply_guide(config)
    values = postconf_n(config)
    assert values["relay_recipient_maps"] == ["hash:/etc/postfix/relay_recipients", f"regexp:{config}/forumsync_recipients"]
    assert values["message_size_limit"] == ["0"] and values["lmtp_connect_timeout"] == ["30s"]


def test_the_guide_on_a_postfix_without_mailman(config_dir):
    apply_guide(config_dir)
    values = postconf_n(config_dir)
    assert values["relay_domains"] == ["forumsync.example.org"]
    assert values["transport_maps"] == [f"regexp:{config_dir}/forumsync_transport"]


def test_running_the_guide_twice_changes_nothing(tmp_path):
    config = postfix_dir(tmp_path / "postfix", MAILMAN_LINES)
    apply_guide(config)
    once = (config / "main.cf").read_text(encoding="utf-8")
    apply_guide(config)
    assert (config / "main.cf").read_text(encoding="utf-8") == once
    postconf_n(config)


def _postconf_value(config_dir, name):
    return int(subprocess.run([POSTCONF, "-c", str(config_dir), "-h", name], capture_output=True,
                              text=True, check=True).stdout.strip())


@pytest.mark.parametrize("limit", ["mailbox_size_limit", "virtual_mailbox_limit"])
def test_a_mailbox_limit_never_ends_below_the_message_limit(tmp_path, limit):
    """Red team, 30th pass: the script raised message_size_limit to 25 MB over a 20 MB
    mailbox_size_limit, and Postfix's local(8) stops then (« fatal: main.cf configuration
    error: mailbox_size_limit is smaller than message_size_limit »): no local mailbox of the
    host received mail any more."""
    config_dir = postfix_dir(tmp_path / "postfix", f"\n{limit} = 20480000\n")
    for table in ("forumsync_transport", "forumsync_recipients", "forumsync_relay_others"):
        shutil.copy(POSTFIX / table, config_dir / table)
    env = dict(os.environ, PATH=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    subprocess.run(["sh", str(POSTFIX / "forumsync-postconf.sh"), str(config_dir)], check=True,
                   env=env, capture_output=True)
    message, mailbox = _postconf_value(config_dir, "message_size_limit"), _postconf_value(config_dir, limit)
    assert message == 26214400 and mailbox == message, (message, mailbox)
