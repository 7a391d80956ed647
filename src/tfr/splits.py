"""Splitting a pack into train, validation and test sets: by a stable hash of each image's
path, or by the folders the images are in.

By hash, an image's split depends on its own path (relative to the folder packed) and the
seed alone: adding or removing other images never moves it, so a test set stays a test set
as a dataset grows. The fractions are exact (rationals, not floats): ``0.1`` means a tenth of
the hash space, and the same fractions give the same assignment on every machine.

By folders, ``SRC/train/...``, ``SRC/validation/...``, ``SRC/test/...`` (the layout TFDS's
ImageFolder reads) each become a split named after its folder.

Each split is its own set of files beside the output: ``out/flowers.tfrecord`` split into
train and test gives ``out/flowers-train-00000-of-00004.tfrecord`` ... and
``out/flowers-test.tfrecord`` (see :func:`tfr.names.split_output`).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction

from tfr import storage

__all__ = ["SPLIT_FOLDERS", "SplitSpec", "find_split_folders", "split_of"]

SPLIT_FOLDERS = ("train", "validation", "valid", "val", "test", "dev", "eval")
"""Folder names taken for splits when every folder of the source has one of them."""

# A split's name goes into file names and TFDS's metadata: letters, digits and underscores.
_NAME = re.compile(r"[A-Za-z0-9_]+")
_SCALE = 1 << 64  # an image's place in [0, 1) is a 64-bit integer over this


@dataclass(frozen=True)
class SplitSpec:
    """Splits by hash (``fractions``, in the order given) or by folders (``folders``)."""

    fractions: tuple[tuple[str, Fraction], ...] = ()
    folders: bool = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fractions]

    @classmethod
    def parse(cls, text: str) -> SplitSpec:
        """``"train=0.8,validation=0.1,test=0.1"`` (fractions summing to 1, or percentages
        summing to 100) or ``"folders"``; ValueError, saying what is expected, otherwise."""
        if text.strip() == "folders":
            return cls(folders=True)
        fractions: list[tuple[str, Fraction]] = []
        for item in text.split(","):
            name, equals, value = item.partition("=")
            name = name.strip()
            if not equals or not _NAME.fullmatch(name):
                raise ValueError(
                    f"not a split: {item.strip()!r} (give name=fraction pairs such as "
                    "train=0.8,validation=0.1,test=0.1, or 'folders')"
                )
            try:
                fraction = Fraction(value.strip())
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"not a fraction: {value.strip()!r} (for split {name})") from None
            if fraction <= 0:
                raise ValueError(f"split {name} must have a share above 0, not {value.strip()}")
            if name in dict(fractions):
                raise ValueError(f"split {name} is given twice")
            fractions.append((name, fraction))
        total = sum(f for _, f in fractions)
        if total == 100 and len(fractions) > 1:  # percentages
            fractions = [(name, f / 100) for name, f in fractions]
        elif total != 1:
            raise ValueError(
                f"the splits' fractions add up to {float(total):g}, not 1 (or percentages to 100)"
            )
        return cls(tuple(fractions))

    def describe(self) -> dict[str, object]:
        """The spec as plain values, for a manifest."""
        if self.folders:
            return {"by": "folders"}
        return {"by": "hash", "fractions": {name: str(f) for name, f in self.fractions}}


def split_of(relative: str, fractions: tuple[tuple[str, Fraction], ...], seed: int = 0) -> str:
    """The split of the image at ``relative`` (its path in the folder packed, "/" between
    folders): where the SHA-256 of the seed and the path falls among the fractions."""
    key = f"{seed}\0{relative}".encode("utf-8", "surrogateescape")
    point = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
    for name, bound in _bounds(fractions):
        if point < bound:
            return name
    return fractions[-1][0]  # the fractions add up to 1: only rounding could get here


@functools.lru_cache(maxsize=8)
def _bounds(fractions: tuple[tuple[str, Fraction], ...]) -> tuple[tuple[str, int], ...]:
    """Each split's upper end in the hash space, as an integer: once per spec, not per image
    (5 us of rational arithmetic per image). ``point < x`` and ``point < ceil(x)`` agree for
    an integer ``point``, so the assignment is exactly that of the fractions."""
    bounds, total = [], Fraction(0)
    for name, fraction in fractions:
        total += fraction
        bounds.append((name, math.ceil(total * _SCALE)))
    return tuple(bounds)


def find_split_folders(src: str) -> list[str] | None:
    """The split folders of ``src`` when every folder in it is named as a split
    (:data:`SPLIT_FOLDERS`) and no image lies beside them; None otherwise."""
    folders, files = _entries(src)
    if not folders or not all(name.lower() in SPLIT_FOLDERS for name in folders):
        return None
    # Only now look inside the files: most folders are not split folders, and a sniff of
    # every top-level file would cost one open each.
    return None if _images(src, files) else folders


def top_level(src: str) -> tuple[list[str], list[str]]:
    """The folders right under ``src``, sorted, and the images beside them (hidden entries
    aside): what splitting by folders takes, and what it would leave out."""
    folders, files = _entries(src)
    return folders, _images(src, files)


def _entries(src: str) -> tuple[list[str], list[str]]:
    """The folders and the files right under ``src``, sorted, hidden entries aside."""
    folders: list[str] = []
    files: list[str] = []
    if storage.is_url(src):
        fs, inner = storage.filesystem(src)
        for info in fs.ls(inner.rstrip("/"), detail=True):
            name = info["name"].rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith("."):
                (folders if info.get("type") == "directory" else files).append(name)
    else:
        with os.scandir(src) as entries:
            for entry in entries:
                if not entry.name.startswith("."):
                    (folders if entry.is_dir() else files).append(entry.name)
    return sorted(folders), sorted(files)


def _images(src: str, files: list[str]) -> list[str]:
    return [name for name in files if _is_image(storage.join(src, name))]


def _is_image(path: str) -> bool:
    from tfr.images import SNIFF_BYTES, sniff

    try:
        with storage.open_read(path) as file:
            return sniff(file.read(SNIFF_BYTES)) is not None
    except OSError:
        return False  # the walk of the folder reports what cannot be read
