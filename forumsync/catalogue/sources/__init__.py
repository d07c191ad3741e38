"""Catalogue sources: each turns one entry of ``CATALOGUE_SOURCES`` into démarches.

``load_source(source)`` dispatches on ``source["type"]`` (``wcs-api``, ``directory``,
``bundle``) and returns a list of :class:`forumsync.catalogue.model.Demarche`. A source that
cannot be read completely (unreachable, refused, malformed export, archive too big…) raises
:class:`SourceError` with a French reason: the sync then leaves that source's démarches as
they were (nothing is retired because a source was down).
"""
from __future__ import annotations


class SourceError(Exception):
    """A source that could not be read; ``str(exc)`` is the French reason."""


# Limits against hostile or broken input (archive and XML bombs).
MAX_EXPORT_BYTES = 5 * 1024 * 1024        # one .wcs file
MAX_FILES = 5000                          # .wcs files in a directory, members in a bundle
MAX_BUNDLE_BYTES = 100 * 1024 * 1024      # a bundle file, and its members' total size
MAX_JSON_BYTES = 20 * 1024 * 1024         # one API answer


def load_source(source: dict, *, timeout: float = 30.0, session=None) -> list:
    """Read one configured source; raises SourceError."""
    kind = source.get("type")
    if kind == "wcs-api":
        from .wcs_api import WcsApiSource

        return WcsApiSource(source, timeout=timeout, session=session).fetch()
    if kind == "directory":
        from .directory import load_directory

        return load_directory(source)
    if kind == "bundle":
        from .bundle import load_bundle

        return load_bundle(source)
    raise SourceError(f"type de source inconnu « {kind} »")
