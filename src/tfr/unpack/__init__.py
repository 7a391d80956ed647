"""Unpack TFRecord files into image files: each image's stored bytes, under its stored name.

Images are never decoded and re-encoded: the bytes in the record are the bytes written. The
work is split by job: :mod:`~tfr.unpack.naming` gives every image a safe, unique name (in
record order, on the calling thread), :mod:`~tfr.unpack.folders` makes label folders,
:mod:`~tfr.unpack.checking` decodes each image to check it and :mod:`~tfr.unpack.writing`
writes it whole or not at all (both on a pool of threads: Pillow's decoders and file writes
release the GIL). The output is the same whatever the number of workers.

A run holds a lock in the output folder, so two runs never write into it at once, and removes
what a killed run left there.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tfr import images, storage
from tfr.errors import RecordError, UsageError
from tfr.interrupts import critical
from tfr.labels import LabelNames
from tfr.layouts import IMAGE_KEYS, LABEL_KEYS, LABEL_TEXT_KEYS, find_image_key
from tfr.lock import Lock, Owner
from tfr.parallel import default_workers, ordered_map
from tfr.reading import Features, FileAccount, Reader
from tfr.records import MAX_RECORD_BYTES, Record
from tfr.unpack.checking import Shape, check_image, stored_shape
from tfr.unpack.folders import Folders, LabelFolders
from tfr.unpack.naming import Namer, safe_name, with_suffix
from tfr.unpack.writing import LOCK_NAME, remove_leftovers, write_image

__all__ = [
    "IMAGE_KEYS",
    "LABEL_KEYS",
    "Note",
    "UnpackOptions",
    "UnpackResult",
    "find_image_key",
    "safe_name",
    "unpack",
]


@dataclass(frozen=True)
class UnpackOptions:
    """How to unpack; by default, every image under its stored name, checked."""

    image_key: str | None = None  # None: found in each record
    name_key: str | None = None
    label_key: str | None = None
    by_label: bool = False  # a folder per label
    label_map: dict[str, int] | None = None  # None: the map `tfr pack` wrote beside the input
    verify: bool = True  # decode each image and compare it with the stored shape
    overwrite: bool = False
    compression: str | None = "auto"
    check_crc: bool = True
    skip_corrupt: bool = False
    workers: int | None = None  # threads; None: one per core when verifying, else one
    io_workers: int | None = None  # writes in flight to a store; None: storage.IO_WORKERS
    sync: bool = True  # each file on the disk before it gets its name
    max_pixels: int = images.DEFAULT_MAX_PIXELS  # larger images are written, not checked
    max_record_bytes: int = MAX_RECORD_BYTES


@dataclass(frozen=True)
class Note:
    """Something the summary reports about one record."""

    path: str  # the record's file
    index: int
    offset: int
    output: str | None  # the file written for it, relative to the output folder
    detail: str
    kind: str = ""  # "exists" (kept), "no_image", "mismatch", "tolerated", "unchecked"

    def where(self) -> str:
        return f"{self.path}: record {self.index} at byte {self.offset}"


@dataclass
class UnpackResult:
    """What an unpack did, for the summary. Filled as the run goes, so a caller that passed one
    in can say what was done if the run is interrupted."""

    outdir: str = ""
    inputs: list[FileAccount] = field(default_factory=list)
    written: int = 0
    bytes_written: int = 0
    per_label: Counter[str] = field(default_factory=Counter)  # label (name or id) -> images
    mismatches: list[Note] = field(default_factory=list)  # decoded shape differs, or no decode
    tolerated: list[Note] = field(default_factory=list)  # damage TensorFlow decodes anyway
    unchecked: list[Note] = field(default_factory=list)  # too large to decode
    renamed: list[Note] = field(default_factory=list)  # unsafe or duplicate names
    skipped: list[Note] = field(default_factory=list)  # nothing written: no image, file exists
    label_maps: list[str] = field(default_factory=list)  # label map files used
    leftovers: list[str] = field(default_factory=list)  # temporaries a killed run left, removed
    leftovers_from: Owner | None = None
    seconds: float = 0.0

    @property
    def lost(self) -> list[RecordError]:
        """Damage passed over with ``skip_corrupt``."""
        return [error for account in self.inputs for error in account.errors]

    @property
    def records(self) -> int:
        return sum(account.records for account in self.inputs)


_EXISTS = "the file exists"


@dataclass(frozen=True, slots=True)
class _Image:
    """One image to write: its bytes and where they go."""

    data: bytes
    output: str  # relative to the output folder, "/" between folder and name
    target: str  # the path written
    image_format: str | None


@dataclass(slots=True)
class _Task:
    """One record's work: its images, then what the summary says about it, in order.

    Planned in record order, checked and written on a worker, accounted in record order.
    """

    where: tuple[str, int, int]  # the record's file, index and offset
    label: str | None = None
    stored: Shape | None = None  # the shape the record gives, to check the decode against
    images: list[_Image] = field(default_factory=list)
    notes: list[tuple[list[Note], Note]] = field(default_factory=list)  # (its list, the note)
    written: int = 0


class _Unpacker:
    def __init__(self, outdir: str, options: UnpackOptions, result: UnpackResult) -> None:
        self.outdir = outdir
        self.options = options
        self.result = result
        self.namer = Namer(options.name_key)
        self.folders = LabelFolders(outdir)
        self.subfolders = Folders(outdir)
        self.remote = storage.is_url(outdir)
        self.label_names = LabelNames(options.label_map, found=self.result.label_maps)
        self._count = threading.Lock()
        self._notes = {
            "mismatch": result.mismatches,
            "tolerated": result.tolerated,
            "unchecked": result.unchecked,
        }

    def plan(self, record: Record, features: Features) -> _Task:
        """Name a record's images (in record order: names depend on the names before)."""
        options = self.options
        task = _Task((record.path, record.index, record.offset))
        key = options.image_key or find_image_key(features)
        kind, values = features.get(key, ("", [])) if key else ("", [])
        if key is None or kind != "bytes" or not values:
            what = f"no {key!r} bytes feature" if options.image_key else "no image found"
            self._note(
                task,
                self.result.skipped,
                None,
                f"{what} (keys: {', '.join(sorted(features)) or 'none'})",
                "no_image",
            )
            return task
        task.label = self._label_text(record, features)
        task.stored = stored_shape(features) if options.verify else None
        folder = None
        if options.by_label:
            folder, problem = self.folders.folder(task.label)
            if problem:
                self._note(task, self.result.renamed, folder, problem)
        for number, data in enumerate(values):
            image_format = images.sniff(data)
            name, renamed = self.namer.stored_name(record, features, image_format)
            if number:
                name = with_suffix(name, number)
            output, taken = self.namer.unique(folder, name)
            if "/" in output:
                self.subfolders.make(output.rpartition("/")[0])
            if taken:
                renamed = (f"{renamed}; " if renamed else "") + (
                    f"another record already gave the name {name!r}"
                )
            if renamed:
                self._note(task, self.result.renamed, output, renamed)
            target = storage.join(self.outdir, *output.split("/"))
            task.images.append(_Image(data, output, target, image_format))
        return task

    def work(self, task: _Task) -> _Task:
        """Check a record's images, if asked, and write them; runs on a worker thread."""
        for image in task.images:
            standing = self._standing(image.target)
            if standing == "folder":
                self._note(task, self.result.skipped, image.output, "a folder has this name")
                continue  # never replaced, even with overwrite: it may hold anything
            if standing is not None and not self.options.overwrite:
                self._note(task, self.result.skipped, image.output, _EXISTS, "exists")
                continue  # kept as it is, and not checked
            if self.options.verify:
                checks = check_image(
                    image.data, image.image_format, task.stored, self.options.max_pixels
                )
                for kind, detail in checks:
                    self._note(task, self._notes[kind], image.output, detail, kind)
            written = write_image(
                image.target, image.data, overwrite=self.options.overwrite, sync=self.options.sync
            )
            if not written:  # appeared meanwhile
                self._note(task, self.result.skipped, image.output, _EXISTS, "exists")
                continue
            task.written += 1
            with self._count:
                self.result.written += 1
                self.result.bytes_written += len(image.data)
        return task

    def _standing(self, path: str) -> str | None:
        """What stands at ``path`` already: "folder" (a real one, not a link to one), "file"
        (anything else, links included) or None. One lstat per image, locally."""
        if self.remote:
            # An object store has keys, and no folder stands in one's way; with overwrite,
            # what is there does not matter, and asking would cost a request.
            if self.options.overwrite:
                return None
            return "file" if storage.exists(path) else None
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        return "folder" if stat.S_ISDIR(mode) else "file"

    def finish(self, task: _Task) -> None:
        """Add a record's notes and counts to the result, in record order."""
        for notes, note in task.notes:
            notes.append(note)
        if task.label is not None and task.written:
            self.result.per_label[task.label] += task.written

    def _label_value(self, features: Features) -> int | str | None:
        keys = [self.options.label_key] if self.options.label_key else list(LABEL_KEYS)
        for key in keys:
            kind, values = features.get(key, ("", []))
            if len(values) != 1:
                continue
            if kind == "int64":
                return int(values[0])
            if kind == "bytes":
                return bytes(values[0]).decode("utf-8", "replace")
        return None

    def _label_text(self, record: Record, features: Features) -> str | None:
        label = self._label_value(features)
        if label is None or isinstance(label, str):
            return label
        names = self.label_names.of(record.path)
        if names is not None and label in names:
            return names[label]
        for label_key, text_key in LABEL_TEXT_KEYS.items():
            if _first(features, label_key, "int64") == label:
                text = _first(features, text_key, "bytes")
                if text is not None:
                    return bytes(text).decode("utf-8", "replace")
        return str(label)

    @staticmethod
    def _note(
        task: _Task, notes: list[Note], output: str | None, detail: str, kind: str = ""
    ) -> None:
        task.notes.append((notes, Note(*task.where, output, detail, kind)))


def _first(features: Features, key: str, kind: str) -> Any:
    found_kind, values = features.get(key, ("", []))
    return values[0] if found_kind == kind and len(values) == 1 else None


# Threads writing local files when nothing is decoded: each file is synced before it is named,
# and a few threads let those waits overlap (2,000 images: 0.66x the time of one thread).
SYNC_WORKERS = 4


def _workers(options: UnpackOptions, remote: bool) -> int:
    if remote:
        return storage.io_workers(options.io_workers)
    return options.workers or (default_workers() if options.verify else SYNC_WORKERS)


def unpack(
    patterns: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    options: UnpackOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    result: UnpackResult | None = None,
) -> UnpackResult:
    """Write the image of every record in the files named into ``outdir``.

    Raises :class:`~tfr.errors.RecordError` on damage unless ``options.skip_corrupt``, and
    :class:`~tfr.errors.SetError` for an incomplete set before anything is written;
    ``progress`` is called with 1 after each record.
    """
    options = options or UnpackOptions()
    outdir = os.fspath(outdir)
    result = result if result is not None else UnpackResult()
    result.outdir = outdir
    remote = storage.is_url(outdir)
    if remote:
        if storage.isfile(outdir):
            raise UsageError(f"{outdir} is a file: name a folder to unpack into")
    elif os.path.islink(outdir) and not os.path.exists(outdir):
        raise UsageError(f"{outdir} is a link to nothing: name a folder to unpack into")
    elif os.path.exists(outdir) and not os.path.isdir(outdir):
        raise UsageError(f"{outdir} is a file: name a folder to unpack into")
    started = time.monotonic()
    reader = Reader(
        patterns,
        compression=options.compression,
        check_crc=options.check_crc,
        skip_corrupt=options.skip_corrupt,
        max_record_bytes=options.max_record_bytes,
    )
    result.inputs = reader.files
    lock = None
    try:
        if not remote:  # an object store has no lock, and no temporaries to leave
            os.makedirs(outdir, exist_ok=True)
            with critical():  # a lock half taken, or leftovers half removed, mislead the next run
                lock = Lock.acquire(os.path.join(outdir, LOCK_NAME), outdir)
                if lock.stale:
                    result.leftovers_from = lock.previous
                    result.leftovers = [path for path, _ in remove_leftovers(outdir)]
        unpacker = _Unpacker(outdir, options, result)
        tasks = (unpacker.plan(record, features) for record, features in reader.examples())
        workers = _workers(options, remote or any(storage.is_url(p) for p in reader.paths))
        # Closed at once, even by an interrupt: writes already running end before the count
        # of what was written is read, so the count is the truth.
        with contextlib.closing(ordered_map(unpacker.work, tasks, workers)) as done:
            for task in done:
                unpacker.finish(task)
                if progress is not None:
                    progress(1)
    finally:
        if lock is not None:
            lock.release()
    result.seconds = time.monotonic() - started
    return result
