"""A Publik application bundle: a ``.tar`` (optionally compressed) holding ``manifest.json``
and one file per element, ``forms/<slug>``, ``workflows/<slug>``…

The archive is read in memory, never extracted. Refused: more than MAX_FILES members, a
member bigger than MAX_EXPORT_BYTES, more than MAX_BUNDLE_BYTES in all, absolute paths or
``..``, links and special files.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path, PurePosixPath

from . import MAX_BUNDLE_BYTES, MAX_EXPORT_BYTES, MAX_FILES, SourceError
from .wcs_xml import demarches_from_exports

ELEMENT_TYPES = ("forms", "workflows")


def read_bundle(path: Path) -> dict[str, bytes]:
    """Regular files of the bundle by name, after every safety check."""
    if not path.is_file():
        raise SourceError(f"paquet introuvable : {path}")
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        raise SourceError(f"paquet trop volumineux (maximum {MAX_BUNDLE_BYTES} octets)")
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_FILES:
                    raise SourceError(f"paquet refusé : plus de {MAX_FILES} éléments")
                name = member.name
                parts = PurePosixPath(name).parts
                if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise SourceError(f"paquet refusé : chemin interdit « {name} »")
                if member.issym() or member.islnk():
                    raise SourceError(f"paquet refusé : lien interdit « {name} »")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise SourceError(f"paquet refusé : fichier spécial « {name} »")
                if member.size > MAX_EXPORT_BYTES:
                    raise SourceError(f"paquet refusé : « {name} » trop volumineux "
                                      f"({member.size} octets, maximum {MAX_EXPORT_BYTES})")
                total += member.size
                if total > MAX_BUNDLE_BYTES:
                    raise SourceError("paquet refusé : contenu total trop volumineux")
                handle = tar.extractfile(member)
                data = handle.read(MAX_EXPORT_BYTES + 1) if handle else b""
                if len(data) > MAX_EXPORT_BYTES:
                    raise SourceError(f"paquet refusé : « {name} » trop volumineux")
                files[PurePosixPath(name).as_posix().removeprefix("./")] = data
    except tarfile.TarError as exc:
        raise SourceError(f"paquet illisible : archive tar invalide ({exc})") from None
    except (EOFError, OSError) as exc:  # truncated or corrupt compressed stream
        raise SourceError(f"paquet illisible : archive tronquée ou corrompue ({exc})") from None
    return files


def load_bundle(source: dict) -> list:
    path = Path(source["path"]).expanduser()
    files = read_bundle(path)
    if "manifest.json" not in files:
        raise SourceError("paquet invalide : manifest.json absent")
    try:
        manifest = json.loads(files["manifest.json"])
    except ValueError as exc:
        raise SourceError(f"paquet invalide : manifest.json illisible ({exc})") from None
    elements = manifest.get("elements") if isinstance(manifest, dict) else None
    if not isinstance(elements, list):
        raise SourceError("paquet invalide : manifest.json sans liste « elements »")
    exports = []
    for element in elements:
        if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
            continue
        name = f"{element['type']}/{element.get('slug')}"
        if name not in files:
            raise SourceError(f"paquet invalide : « {name} » annoncé par le manifeste mais absent")
        exports.append((name, files[name]))
    return demarches_from_exports(exports, source=source["name"],
                                  collectivity=source["collectivity"])
