"""What checkpoint files share below every layer that reads them: the error for a file or reference
that cannot be loaded, and a file's sha256. The converters (``facegan.convert``) and the Hub and
folder IO (``facegan.hub``, which re-exports both) import them from here."""

from __future__ import annotations

import hashlib
import os


class CheckpointError(ValueError):
    """A checkpoint reference that cannot be loaded; the message says why."""


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
