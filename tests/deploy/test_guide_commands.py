"""Every `forumsync …` command docs/deploy.md shows (and the units run) exists, with its options:
each is parsed by the real CLI (click), asked for --help so nothing runs."""
import pytest
from click.testing import CliRunner

from forumsync.cli import cli
from tests.deploy.guide import GUIDE, guide_commands, unit_commands


def parses(args: list[str]) -> tuple[bool, str]:
    result = CliRunner().invoke(cli, args + ["--help"], env={"FORUMSYNC_SETTINGS": ""})
    return result.exit_code == 0, result.output


def test_the_guide_shows_the_commands_it_needs():
    shown = {tuple(a for a in args if not a.startswith("/") and a != "--settings")[:1] for args in guide_commands()}
    for needed in ("check-settings", "doctor", "provision", "import-mbox", "themes", "inbox", "outbox"):
        assert (needed,) in shown, sorted(shown)


@pytest.mark.parametrize("args", guide_commands() + unit_commands(), ids=" ".join)
def test_each_command_of_the_guide_exists(args):
    ok, output = parses(args)
    assert ok, f"{GUIDE.name} : « forumsync {' '.join(args)} » refusée par la CLI :\n{output}"


@pytest.mark.parametrize("bad", [["provision", "--nope"], ["doctour"], ["inbox", "lister"]])
def test_a_wrong_command_is_caught(bad):
    assert not parses(bad)[0]
