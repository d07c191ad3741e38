"""The command line loads a command's module only when that command runs (forumsync.cli)."""
import importlib
import pkgutil
import subprocess
import sys

from click.testing import CliRunner

from forumsync import commands as commands_package
from forumsync.cli import COMMAND_MODULES, cli
from tests.conftest import ROOT


def test_the_registry_names_every_command_its_modules_declare():
    declared = {}
    for info in pkgutil.iter_modules(commands_package.__path__):
        module = importlib.import_module(f"{commands_package.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            declared[command.name] = info.name
    assert declared == COMMAND_MODULES


def test_help_lists_every_command_and_each_one_runs_its_own():
    result = CliRunner().invoke(cli, ["--help"], env={"FORUMSYNC_SETTINGS": ""})
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commandes :")[1].splitlines() if line.strip()}
    assert listed == set(COMMAND_MODULES) | {"check-settings"}
    for name in COMMAND_MODULES:
        assert cli.get_command(None, name).name == name
    assert cli.get_command(None, "doctour") is None


def test_starting_the_cli_imports_neither_the_database_nor_the_forum_client():
    """``import-mbox`` forks its pool before those are imported (pipeline.ahead_pool.fork_now):
    the pool processes must not carry copies of what only the main side uses."""
    code = ("import sys, forumsync.cli, forumsync.commands.import_mbox\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'requests', "
            "'pydiscourse', 'flask', 'alembic'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
