"""The `forumsync` command line (click). Each command family lives in forumsync/commands/.

A command's module is imported when that command runs (``COMMAND_MODULES``), not every module
for every command: ``import-mbox`` forks its pool before SQLAlchemy, the forum client and the
other stages are imported (``pipeline.ahead_pool.fork_now``), so that what only its main side
uses is not copied into the pool processes.
"""
from __future__ import annotations

import importlib
import logging
import sys

import click

from . import click_french
from .click_french import SUBCOMMAND_METAVAR
from . import commands as commands_package
from .commands.terminal import PrintableFormatter, say
from .memory import give_big_buffers_back
from .settings import SettingsError, load_settings

click_french.install()  # click's own messages (usage errors, help) in French

# command name → its module in forumsync/commands/ (tests/commands/test_cli.py checks that it
# names every command those modules declare in COMMANDS, and nothing else)
COMMAND_MODULES = {
    "catalogue": "catalogue", "community": "community", "deliver": "deliver", "demo": "demo",
    "doctor": "doctor", "events": "events", "import-mbox": "import_mbox", "inbox": "inbox", "lmtp": "lmtp",
    "localforum": "localforum", "outbox": "outbox", "provision": "provision", "serve": "serve",
    "themes": "themes", "worker": "worker",
}


DELIVER_TEMPFAIL = 75  # sysexits EX_TEMPFAIL: the MTA keeps the message and retries
# Commands for which the defaults are the expected settings (no notice that no file was read).
WITHOUT_SETTINGS_FILE = frozenset({"demo", "check-settings"})


def _command_name() -> str | None:
    """The name of the command being run (the innermost), if any."""
    current = click.get_current_context(silent=True)
    return current.info_name if current is not None else None


class Obj:
    """Lazily loads settings and the context so `--help` works without a settings file."""

    def __init__(self, settings_path):
        self.settings_path = settings_path
        self._context = None

    @property
    def settings(self):
        return self.context.settings

    @property
    def context(self):
        """The process's ``Context`` (forumsync.context), built on first use."""
        if self._context is None:
            from .context import Context

            try:
                self._context = Context(load_settings(self.settings_path))
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from None
            if not self.settings_path and _command_name() not in WITHOUT_SETTINGS_FILE:
                say(f"Attention : aucun fichier de réglages (--settings FICHIER ou FORUMSYNC_SETTINGS) : "
                    f"réglages par défaut, ceux de la démo, base {self._context.settings.DATABASE_URL}.",
                    err=True)
        return self._context

    def stored_context(self):
        """The context of a command that only shows what is stored: a SQLite database that does
        not exist is an error naming its path, never a new empty one (a mistyped DATABASE_URL
        showed « Aucun message. », an empty inbox, and left an empty database behind)."""
        from .db import sqlite_file

        ctx = self.context
        path = sqlite_file(ctx.settings.DATABASE_URL)
        if path is not None and not path.exists():
            raise click.ClickException(
                f"aucune base forumsync à {path} (DATABASE_URL) : vérifiez le chemin. La base est "
                f"créée par la première commande qui écrit (worker, lmtp, import-mbox, provision).")
        return ctx

    def open_database(self):
        """The context with its database opened and migrated, before a command accepts or
        reads anything; a database that is down is a French error, not a traceback."""
        ctx = self.context
        ctx.db  # noqa: B018 - opens and migrates (DatabaseUnavailable: FrenchGroup says so)
        return ctx


class _FrenchError(click.ClickException):
    """A ClickException reported as « Erreur : … », like the rest of the CLI's French."""

    def __init__(self, original: click.ClickException):
        super().__init__(original.format_message())
        self.exit_code = original.exit_code
        self.original = original

    def show(self, file=None):
        usage_ctx = getattr(self.original, "ctx", None)
        if isinstance(self.original, click.UsageError) and usage_ctx is not None:
            say(usage_ctx.get_usage(), err=True)
        say(f"Erreur : {self.format_message()}", err=True)


class FrenchGroup(click.Group):
    """French errors; the commands of ``COMMAND_MODULES`` loaded when asked for."""

    def parse_args(self, ctx, args):
        """A usage error in a line that runs ``deliver`` (an MTA's pipe) defers the mail (exit
        75): click's 2 is a bounce for Postfix, and a typo before the word « deliver » in
        master.cf must not lose list mail (red team, 35th pass)."""
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if "deliver" in args:
                exc.exit_code = DELIVER_TEMPFAIL
            raise

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def get_command(self, ctx, name):
        if name in COMMAND_MODULES and name not in self.commands:
            module = importlib.import_module(f"{commands_package.__name__}.{COMMAND_MODULES[name]}")
            for command in module.COMMANDS:
                self.add_command(command)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _FrenchError:
            raise
        except click.ClickException as exc:
            raise _FrenchError(exc) from None
        except Exception as exc:
            reason = _database_down(exc)
            if reason is None:
                raise
            raise _FrenchError(click.ClickException(
                f"base de données inaccessible ({reason}) : vérifiez DATABASE_URL et que le "
                f"serveur de base de données tourne")) from None


def _database_down(exc: Exception) -> str | None:
    """Why the database is out of reach, when EXC says it is (opening it, or a connection
    lost during the command); else None."""
    from .db import DatabaseUnavailable, unavailable_reason

    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    if type(exc).__module__.startswith("sqlalchemy"):
        from sqlalchemy.exc import InterfaceError, OperationalError

        if isinstance(exc, (OperationalError, InterfaceError)):
            return unavailable_reason(exc)
    return None


@click.group(cls=FrenchGroup, subcommand_metavar=SUBCOMMAND_METAVAR,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--settings", "settings_path", envvar="FORUMSYNC_SETTINGS", type=click.Path(),
              help="Fichier de réglages Python (défaut : $FORUMSYNC_SETTINGS, sinon réglages de démo).")
@click.option("-v", "--verbose", is_flag=True, help="Journal détaillé.")
@click.pass_context
def cli(ctx, settings_path, verbose):
    """forumsync : passerelle entre la liste du club Publik et le forum Bistro."""
    handler = logging.StreamHandler()  # stderr; records carry mail text: made printable
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # Migrations run at every start; their chatter is noise in MTA and cron logs.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    give_big_buffers_back()  # an import's biggest message must not size the process for good
    obj = Obj(settings_path)
    ctx.obj = obj
    ctx.call_on_close(lambda: obj._context and obj._context.close())


@cli.command("check-settings")
@click.pass_obj
def check_settings(obj):
    """Vérifie le fichier de réglages et affiche les valeurs retenues (secrets masqués)."""
    if obj.settings_path:
        say(f"Réglages lus dans {obj.settings.source} : valides.")
    else:
        say("Aucun fichier de réglages (--settings FICHIER ou FORUMSYNC_SETTINGS) : valeurs "
                   "par défaut, celles des ports de la démo. La démo écrit les siens dans "
                   "var/demo/settings.py ; modèle commenté : settings.example.py.")
    from .settings_secrets import displayed_value  # secrets, URL passwords and sources' keys masked

    for key, value in sorted(obj.settings.as_dict().items()):
        say(f"{key} = {displayed_value(key, value)!r}")


def main():  # noqa: D401 - console entry point
    try:
        cli(standalone_mode=True)
    except SettingsError as exc:  # raised outside click's handling
        say(f"Erreur : {exc}", err=True)
        sys.exit(78)  # EX_CONFIG

if __name__ == "__main__":
    main()
