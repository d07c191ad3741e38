"""A directory of ``.wcs`` exports, searched recursively (symbolic links are not followed).

Each file is recognised by its root element (``<formdef>``, ``<workflow>``; other exports
such as cards or blocks are ignored). Sizes and the number of files are capped.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import MAX_EXPORT_BYTES, MAX_FILES, SourceError
from .wcs_xml import demarches_from_exports


def find_exports(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.endswith(".wcs") and path.is_file() and not path.is_symlink():
                found.append(path)
                if len(found) > MAX_FILES:
                    raise SourceError(f"trop de fichiers .wcs dans {root} (maximum {MAX_FILES})")
    return found


def load_directory(source: dict) -> list:
    root = Path(source["path"]).expanduser()
    if not root.is_dir():
        raise SourceError(f"dossier introuvable : {root}")
    exports = []
    for path in find_exports(root):
        size = path.stat().st_size
        relative = path.relative_to(root).as_posix()
        if size > MAX_EXPORT_BYTES:
            raise SourceError(f"export {relative} trop volumineux ({size} octets, maximum "
                              f"{MAX_EXPORT_BYTES})")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"export {relative} illisible : {exc.strerror}") from None
        exports.append((relative, data))
    return demarches_from_exports(exports, source=source["name"],
                                  collectivity=source["collectivity"])
