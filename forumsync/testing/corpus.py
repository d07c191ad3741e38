"""The real list archives (test data, never in the repository) read as raw messages."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from forumsync.inbound.mbox import iter_mbox, open_mbox

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FORUMSYNC_TESTDATA") or ROOT.parent / "shared") / "corpus"


def corpus_raws(paths: Iterable[Path], limit: int | None = None) -> Iterator[bytes]:
    """Raw bytes of the messages of PATHS in order, oversized ones left out, LIMIT at most."""
    count = 0
    for path in paths:
        with open_mbox(path) as stream:
            for message in iter_mbox(stream):
                if message.raw is None:
                    continue
                yield message.raw
                count += 1
                if limit and count >= limit:
                    return
