"""click's own messages in French: usage errors, « Usage: », « Show this message and exit. ».

Everything a user reads from the CLI is French first, and click writes its messages in
English through ``gettext`` (each of its modules imports ``gettext``/``ngettext`` and calls
them on a fixed English text). click ships no French catalogue, so ``install`` gives those
modules a lookup in ``MESSAGES`` (and ``PLURALS``) instead, before any command runs: the same
call sites, a French text for each message click has. A message of a newer click not in the
catalogue stays English (``tests/commands/test_click_french.py`` lists click's messages and fails then).
"""
from __future__ import annotations

import gettext
import importlib

MESSAGES = {
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "(dynamic)": "(dynamique)",
    "Aborted!": "Interrompu !",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.":
        "Un argument prend exactement une déclaration, reçu {length} : {decls}.",
    "Boolean option {decl!r} cannot use the same flag for true/false.":
        "L'option booléenne {decl!r} ne peut pas utiliser le même drapeau pour vrai et faux.",
    "Could not determine name for option with declarations {decls!r}":
        "Nom introuvable pour l'option déclarée {decls!r}",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "Avertissement : la commande {name!r} est obsolète.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "Avertissement : {param_type} {name!r} est obsolète.{extra_message}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? "
    "Did you mean to pass '--{name}'?":
        "Aucune option déclarée, mais un nom donné ({name}). Fallait-il déclarer un argument ? "
        "Ou passer '--{name}' ?",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "La complétion n'est pas prise en charge avant Bash 4.4.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} n'est pas un booléen valide. Valeurs reconnues : {states}",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} prend {nargs} valeurs.",
    "Choice({choices})": "Choix({choices})",
    "Choose from:\n\t{choices}": "Choisir parmi :\n\t{choices}",
    "Commands": "Commandes ",  # click adds the colon: « Commandes : »
    "Confirm the action without prompting.": "Confirme l'action sans la demander.",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir le fichier {filename!r} : {message}",
    "Couldn't detect Bash version, shell completion is not supported.":
        "Version de Bash inconnue : la complétion n'est pas prise en charge.",
    "Do you want to continue?": "Voulez-vous continuer ?",
    "Error: The two entered values do not match.": "Erreur : les deux valeurs saisies diffèrent.",
    "Error: invalid input": "Erreur : saisie invalide",
    "Error: {message}": "Erreur : {message}",
    "Invalid start character for option ({option})": "Caractère de début d'option invalide ({option})",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "Missing argument": "Argument manquant",
    "Missing command.": "Commande manquante.",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "Missing {param_type}": "{param_type} manquant",
    "Name '{name}' defined twice": "Nom '{name}' défini deux fois",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Options": "Options ",
    "Positional arguments": "Arguments ",
    "Press any key to continue...": "Appuyez sur une touche pour continuer…",
    "Repeat for confirmation": "Répétez pour confirmer",
    "Show the version and exit.": "Affiche la version et quitte.",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "Unknown color {colour!r}": "Couleur inconnue : {colour!r}",
    "Unknown standard stream '{name}'": "Flux standard inconnu : '{name}'",
    "Usage:": "Utilisation :",
    "Value must be an iterable.": "La valeur doit être une suite.",
    "Windows error: {error}": "Erreur Windows : {error}",
    "d": "j",  # days, in a progress bar's estimate
    "default: {default}": "défaut : {default}",
    "deprecated": "obsolète",
    "directory": "répertoire",
    "env var: {var}": "variable d'environnement : {var}",
    "file": "fichier",
    "path": "chemin",
    "required": "obligatoire",
    "unknown error": "erreur inconnue",
    "{editor}: Editing failed": "{editor} : échec de l'édition",
    "{editor}: Editing failed: {e}": "{editor} : échec de l'édition : {e}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} n'existe pas.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un répertoire.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not executable.": "{name} {filename!r} n'est pas exécutable.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} n'est pas accessible en écriture.",
    "{value!r} is not a valid UUID.": "{value!r} n'est pas un UUID valide.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide ({number_type}).",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
}
# (singular, plural) → (French singular, French plural)
PLURALS = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("Argument en trop ({args})", "Arguments en trop ({args})"),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("Prend {nargs} valeurs, 1 seule donnée.", "Prend {nargs} valeurs, {len} données."),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire l'une de : {possibilities} ?)"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("L'option {name!r} attend une valeur.", "L'option {name!r} attend {nargs} valeurs."),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} n'est pas {choice}.", "{value!r} n'est pas parmi {choices}."),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("{value!r} ne suit pas le format {format}.", "{value!r} ne suit aucun des formats {formats}."),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("{len_type} valeurs attendues, {len_value} donnée.", "{len_type} valeurs attendues, {len_value} données."),
}
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "shell_completion",
                 "termui", "types", "utils", "_termui_impl")


def french(message: str) -> str:
    """MESSAGE in French when the catalogue has it, else as click wrote it."""
    return MESSAGES.get(message, message)


def french_plural(singular: str, plural: str, n: int) -> str:
    one, many = PLURALS.get((singular, plural), (singular, plural))
    return one if n == 1 else many


# click's parameter type names, shown in help (« INTEGER RANGE ») and errors (« … (integer) »):
# class attributes click never translates.
TYPE_NAMES = {"IntParamType": "entier", "FloatParamType": "nombre", "BoolParamType": "booléen",
              "StringParamType": "texte", "IntRange": "entier", "FloatRange": "nombre",
              "Path": "chemin", "File": "fichier", "Choice": "choix", "DateTime": "date",
              "UUIDParameterType": "uuid", "UnprocessedParamType": "texte"}
# What a group's usage line calls its subcommand (click: « COMMAND [ARGS]... »).
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."


def install() -> None:
    """Make click's modules look their messages up in the French catalogue, and its type
    names French."""
    import click.types

    for class_name, french_name in TYPE_NAMES.items():
        kind = getattr(click.types, class_name, None)
        if isinstance(kind, type) and isinstance(getattr(kind, "name", None), str):
            kind.name = french_name
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a module of another click version
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = french
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = french_plural
