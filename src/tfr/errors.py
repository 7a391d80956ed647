"""The errors `tfr` raises for bad input, one class per failure.

Each states a fact about the input or the disk (``OutputExists(path)``), never a command-line
flag: the command-line layer words them for its user and adds what to do. Errors about bad
data are also ``ValueError``, as msgpack's are, so plain Python callers can catch them too.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import Any

__all__ = [
    "CorruptRecord",
    "DamagedImage",
    "ForeignShard",
    "ImageError",
    "ImageTooLarge",
    "IncompleteSet",
    "LabelError",
    "NotATFRecord",
    "NotAnExample",
    "NotAnImage",
    "OutputBusy",
    "OutputError",
    "OutputExists",
    "RecordError",
    "RecordTooLarge",
    "SetError",
    "TfdsUnsupported",
    "TfrError",
    "ToleratedDamage",
    "TruncatedRecord",
    "UnknownClass",
    "UnlikelyClasses",
    "UnsupportedImage",
    "UsageError",
    "WriteError",
    "error_from_json",
    "error_to_json",
]


class TfrError(Exception):
    """Base of every error caused by the user's input rather than by a bug in `tfr`."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole, attributes and all, when a worker process sends one to its parent (the
        # default would call the class with the message alone).
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(kind: type[TfrError], args: tuple[Any, ...], state: dict[str, Any]) -> TfrError:
    error = kind.__new__(kind)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def error_to_json(error: TfrError) -> dict[str, Any]:
    """An error as JSON values, for a file a later run reads back (:func:`error_from_json`)."""
    return {"kind": type(error).__name__, "args": list(error.args), "state": error.__dict__}


def error_from_json(document: dict[str, Any]) -> TfrError:
    """The error :func:`error_to_json` wrote; a kind this module does not define is read as
    a plain TfrError (nothing but tfr's own classes is ever made from a file)."""
    kind = globals().get(str(document.get("kind")))
    if not (isinstance(kind, type) and issubclass(kind, TfrError)):
        kind = TfrError
    state = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in dict(document.get("state") or {}).items()
    }
    return _rebuild(kind, tuple(document.get("args") or ()), state)


class UsageError(TfrError):
    """The command was asked for something it cannot do: bad option, missing folder, ..."""


# --- labels ---------------------------------------------------------------------------------


class LabelError(TfrError, ValueError):
    """A label map is malformed, or a file's class is not in it."""


class UnknownClass(LabelError):
    """Files whose classes are not in the label map given. ``classes`` maps each unknown class
    to its files; ``known`` is the map; ``used`` the classes the files have."""

    def __init__(
        self, classes: dict[str, list[str]], known: dict[str, int], used: set[str] | None = None
    ) -> None:
        self.classes = classes
        self.known = known
        self.used = used or set()
        listed = [
            f"{name!r} ({len(files):,} {'file' if len(files) == 1 else 'files'}, e.g. {files[0]})"
            for name, files in list(classes.items())[:10]
        ]
        if len(classes) > 10:
            listed.append(f"and {len(classes) - 10:,} more")
        what = "a class" if len(classes) == 1 else f"{len(classes):,} classes"
        super().__init__(
            f"{what} not in the label map: {', '.join(listed)} "
            f"(it has {', '.join(map(repr, sorted(known))) or 'none'})"
        )


class UnlikelyClasses(LabelError):
    """The default rule for classes (a file's name up to its first ``_``) gives nearly one
    class per image: the names are not made that way. ``in_folders``: the images sit in
    subfolders, which may be the classes."""

    def __init__(self, images: int, classes: int, in_folders: bool) -> None:
        self.images = images
        self.classes = classes
        self.in_folders = in_folders
        super().__init__(
            f"taking each file's class from its name up to the first '_' gives {classes:,} "
            f"classes for {images:,} images: the names do not carry classes"
        )


# --- images ---------------------------------------------------------------------------------


class ImageError(TfrError, ValueError):
    """An image cannot be stored: unreadable, damaged, or in a format TensorFlow cannot decode.

    ``reason`` says what is wrong with the bytes; ``path`` names the file, once known.
    """

    def __init__(self, reason: str, path: str | os.PathLike[str] | None = None) -> None:
        self.reason = reason
        self.path = None if path is None else os.fspath(path)
        super().__init__(reason if self.path is None else f"{self.path}: {reason}")

    def with_path(self, path: str | os.PathLike[str]) -> ImageError:
        """The same error, naming the file it came from."""
        error = type(self).__new__(type(self))
        error.__dict__.update(self.__dict__)
        ImageError.__init__(error, self.reason, path)
        return error


class NotAnImage(ImageError):
    """The bytes are no image format tfr knows."""


class DamagedImage(ImageError):
    """The image is corrupt, or cut short (``truncated``)."""

    def __init__(
        self, reason: str, path: str | os.PathLike[str] | None = None, *, truncated: bool = False
    ) -> None:
        self.truncated = truncated
        super().__init__(reason, path)


class ToleratedDamage(DamagedImage):
    """Damage TensorFlow's decoders pass over (and decode the image anyway), refused because
    strictness was asked; ``defects`` names each."""

    def __init__(
        self, defects: tuple[str, ...], path: str | os.PathLike[str] | None = None
    ) -> None:
        self.defects = defects
        super().__init__("damage TensorFlow tolerates: " + "; ".join(defects), path)


class UnsupportedImage(ImageError):
    """An intact image that TensorFlow cannot decode to its pixels (TIFF, 16-bit BMP, ...)."""


class ImageTooLarge(ImageError):
    """An image larger than a limit: ``size`` against ``limit``, in ``unit`` (bytes, pixels)."""

    def __init__(
        self,
        reason: str,
        path: str | os.PathLike[str] | None = None,
        *,
        size: int = 0,
        limit: int = 0,
        unit: str = "bytes",
    ) -> None:
        self.size = size
        self.limit = limit
        self.unit = unit
        super().__init__(reason, path)


# --- records --------------------------------------------------------------------------------


class RecordError(TfrError, ValueError):
    """A TFRecord file is damaged. Names the file, the record index and the byte offset.

    ``kind`` is ``"corrupt"`` (a CRC does not match), ``"truncated"`` (the file ends inside a
    record), ``"not_tfrecord"`` (the very first record makes no sense), ``"not_example"``
    (the record is intact but holds no ``tf.train.Example``) or ``"too_large"`` (a length over
    the reader's limit). Each kind is also a subclass, to catch by.
    """

    kind = "damaged"

    def __init__(self, path: str, index: int, offset: int, detail: str) -> None:
        self.path = path
        self.index = index
        self.offset = offset
        self.detail = detail
        super().__init__(f"{path}: record {index} at byte {offset}: {detail}")

    @classmethod
    def of_kind(cls, kind: str, path: str, index: int, offset: int, detail: str) -> RecordError:
        """The subclass for ``kind``."""
        return _RECORD_KINDS[kind](path, index, offset, detail)


class CorruptRecord(RecordError):
    kind = "corrupt"


class TruncatedRecord(RecordError):
    kind = "truncated"


class NotATFRecord(RecordError):
    kind = "not_tfrecord"


class NotAnExample(RecordError):
    kind = "not_example"


class RecordTooLarge(RecordError):
    """A record whose length field is over the reader's limit; nothing was allocated for it."""

    kind = "too_large"

    def __init__(
        self, path: str, index: int, offset: int, detail: str, *, length: int = 0, limit: int = 0
    ) -> None:
        self.length = length
        self.limit = limit
        super().__init__(path, index, offset, detail)


_RECORD_KINDS: dict[str, type[RecordError]] = {
    c.kind: c for c in (CorruptRecord, TruncatedRecord, NotATFRecord, NotAnExample, RecordTooLarge)
}


# --- sets of shards -------------------------------------------------------------------------


class SetError(TfrError, ValueError):
    """A set of shards is not whole: a member is missing, foreign, or the run that wrote it
    did not finish."""


class IncompleteSet(SetError):
    """Members of a set are missing (``missing``), or the run writing it has not finished
    (``unfinished``: the path of its lock)."""

    def __init__(
        self,
        name: str,
        detail: str,
        missing: list[str] | None = None,
        unfinished: str | None = None,
    ) -> None:
        self.name = name
        self.missing = missing or []
        self.unfinished = unfinished
        super().__init__(f"{name}: {detail}")


class ForeignShard(SetError):
    """A file that looks like a member of a set but is not the one its manifest lists."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"{path}: {detail}")


# --- TFDS metadata ------------------------------------------------------------------------


class TfdsUnsupported(TfrError, ValueError):
    """An output that TFDS's metadata cannot describe faithfully (compressed files, class ids
    with gaps, a class name its names file cannot hold, ...); ``reason`` says what."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"TFDS cannot load this output as written: {reason}")


# --- outputs --------------------------------------------------------------------------------


class OutputError(TfrError):
    """An output cannot be written where asked."""


class OutputExists(OutputError):
    """``path`` exists and replacing it was not asked for."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} already exists")


class OutputBusy(OutputError):
    """Another live run holds the lock on this output. ``owner`` describes it."""

    def __init__(self, path: str, owner: str) -> None:
        self.path = path
        self.owner = owner
        super().__init__(f"{path} is being written by another run ({owner})")


class WriteError(OutputError):
    """Writing ``path`` failed for a reason of the disk or the system (full, read-only, ...).
    ``errno`` is the system's error number."""

    def __init__(self, path: str, error: OSError) -> None:
        self.path = path
        self.errno = error.errno
        self.strerror = error.strerror or str(error)
        super().__init__(f"cannot write {path}: {self.strerror}")

    @property
    def disk_full(self) -> bool:
        return self.errno in (_errno.ENOSPC, _errno.EDQUOT)
