"""Reading docs/deploy.md and deploy/ for the deployment tests."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("forumsync-*.service")) + sorted((DEPLOY / "systemd").glob("*.timer"))
INSTALL_PREFIX = "/srv/forumsync/.venv"


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def shell_lines(block: str) -> list[str]:
    """Lines of a shell block, backslash continuations joined, comments dropped."""
    lines, current = [], ""
    for raw in block.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip() and not current.strip().startswith("#"):
            lines.append(current.strip())
        current = ""
    return lines


def forumsync_args(line: str) -> list[str] | None:
    """The arguments given to forumsync on LINE (``…/bin/forumsync ARGS`` after sudo or env,
    or a line starting with ``forumsync``), or None."""
    words = shlex.split(line, comments=True)
    for index, word in enumerate(words):
        if word.endswith("/bin/forumsync") or (index == 0 and word == "forumsync"):
            return words[index + 1:]
    return None


def guide_commands() -> list[list[str]]:
    commands = []
    for block in sh_blocks(GUIDE.read_text(encoding="utf-8")):
        for line in shell_lines(block):
            args = forumsync_args(line)
            if args is not None:
                commands.append(args)
    return commands


def unit_commands() -> list[list[str]]:
    commands = []
    for unit in UNITS:
        for line in unit.read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                args = forumsync_args(line.removeprefix("ExecStart="))
                if args is not None:
                    commands.append(args)
    return commands
