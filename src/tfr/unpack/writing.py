"""Writing one unpacked image: complete under its final name, or not there at all.

The bytes go to a hidden temporary file beside the final name (``.tfr-<hex>.tmp``), are synced
to the disk, and are then given the final name by a hard link, which never replaces a file
(or by a rename over it, when replacing is asked). Killed at any moment, no truncated or empty
file is left under a final name; the temporaries an outright kill leaves are recognised by
their names and removed by the next unpack into the same folder (:func:`remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from tfr import storage
from tfr.atomic import discard, publish, writing
from tfr.errors import OutputExists

__all__ = ["LOCK_NAME", "remove_leftovers", "write_image"]

LOCK_NAME = ".tfr-unpack-lock"
_LEFTOVER = re.compile(r"\.tfr-[0-9a-f]{8}\.tmp")
_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def write_image(target: str, data: bytes, *, overwrite: bool, sync: bool = True) -> bool:
    """Write ``data`` as ``target``; False (and nothing written) if a file is there already
    and ``overwrite`` is not asked. ``sync`` flushes the bytes to the disk before the name is
    given, so that not even a power cut leaves an empty file under it."""
    if storage.is_url(target):
        return _write_stored(target, data, overwrite=overwrite)
    folder = os.path.dirname(target)
    with writing(target):
        fd, temporary = _create_temporary(folder)
        named = False  # the file has its final name, and the temporary one is gone
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            publish(temporary, target, overwrite=overwrite)
            named = True
            return True
        except OutputExists:
            return False
        finally:
            if not named:  # not a system call per file more when all went well
                discard(temporary)


def _write_stored(target: str, data: bytes, *, overwrite: bool) -> bool:
    """In an object store an object appears whole or not at all: no temporary is needed. That
    no object is replaced is checked first (a store cannot refuse an upload by name)."""
    fs, inner = storage.filesystem(target)
    with writing(target):
        if not overwrite and fs.exists(inner):
            return False
        fs.pipe_file(inner, data)
    return True


def _create_temporary(folder: str) -> tuple[int, str]:
    while True:
        temporary = os.path.join(folder, f".tfr-{os.urandom(4).hex()}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(temporary, _FLAGS, 0o666), temporary


def remove_leftovers(outdir: str) -> Iterator[tuple[str, int]]:
    """Remove the temporaries an interrupted unpack left under ``outdir``; yields each one's
    path and size. Folder links are not followed."""
    for folder, _, files in os.walk(outdir):
        for name in files:
            if _LEFTOVER.fullmatch(name):
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    size = os.lstat(path).st_size
                    os.unlink(path)
                    yield path, size
