"""click's own messages in French (red team, twenty-fourth pass: « Erreur : No such option »,
« Show this message and exit. », « Usage: » under a French CLI)."""
import ast
import inspect
import importlib

from click.testing import CliRunner

from forumsync.cli import cli
from forumsync.click_french import CLICK_MODULES, MESSAGES, PLURALS


def test_a_usage_error_is_french():
    result = CliRunner().invoke(cli, ["catalogue", "sync", "--bogus"])
    assert result.exit_code == 2
    assert "Erreur : Option inconnue : '--bogus'." in result.output
    assert "Utilisation :" in result.output and "No such option" not in result.output


def test_an_unknown_command_is_french():
    result = CliRunner().invoke(cli, ["nope"])
    assert result.exit_code == 2
    assert "Commande inconnue : 'nope'." in result.output


def test_an_option_without_its_value_is_french():
    result = CliRunner().invoke(cli, ["--settings"])
    assert result.exit_code == 2
    assert "L'option '--settings' attend une valeur." in result.output


def test_help_is_french():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Utilisation :")
    assert "Affiche cette aide et quitte." in result.output and "Commandes :" in result.output
    assert "Show this message" not in result.output and "Commands:" not in result.output


def test_type_names_and_metavars_are_french():
    """Operator walkthrough, 28th pass: « INTEGER RANGE », « (integer) », « COMMAND [ARGS]... »
    and « [INBOX_ID] » were English in help and errors."""
    runner = CliRunner()
    wrong = runner.invoke(cli, ["inbox", "list", "--limit", "abc"])
    assert wrong.exit_code == 2 and "n'est pas un nombre valide (entier)." in wrong.output, wrong.output
    for args in (["--help"], ["inbox", "--help"], ["inbox", "list", "--help"], ["inbox", "retry", "--help"],
                 ["import-mbox", "--help"], ["catalogue", "--help"], ["outbox", "--help"], ["events", "--help"],
                 ["community", "--help"]):
        shown = runner.invoke(cli, args).output
        for english in ("INTEGER", "COMMAND [ARGS]", "INBOX_ID", "MAIL_ID", "EVENT_ID", "PATHS", "TEXT", "PATH"):
            assert english not in shown, (args, english, shown)
    assert "inbox retry [OPTIONS] [NUMÉRO]" in runner.invoke(cli, ["inbox", "retry", "--help"]).output


def _click_messages():
    """Every message click passes to gettext/ngettext, read from its installed source."""
    singles, pairs = set(), set()
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) >= 2:
                pairs.add((texts[0], texts[1]))
    return singles, pairs


def test_every_click_message_has_its_french():
    """A newer click's new message would stay English: this lists it."""
    singles, pairs = _click_messages()
    assert len(singles) > 40 and len(pairs) >= 5  # the source was read
    assert sorted(singles - MESSAGES.keys()) == []
    assert sorted(pairs - PLURALS.keys()) == []
