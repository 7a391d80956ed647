"""Unpack TFRecord files into image files: each image's stored bytes, under its stored name.

Images are never decoded and re-encoded: the bytes in the record are the bytes written. The
names come from the records, so they are treated as hostile: every one goes through
:func:`safe_name`, which keeps it inside the output folder, and no file is replaced unless
asked. A new file is created exclusively under its final name and removed again if anything
fails before it is complete; a file replaced with ``overwrite`` is written under a temporary
name and renamed over the old one, so the old one stays whole until the new one is.

Checking an image decodes it, which is most of the work: it runs on a pool of threads
(Pillow's decoders release the GIL), while names are chosen and files written in record
order, so the output is the same whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tfr import images
from tfr.atomic import discard, open_temporary, publish
from tfr.errors import ImageError, RecordError, UsageError
from tfr.labels import label_map_path, load_label_map
from tfr.parallel import default_workers, ordered_map
from tfr.reading import Features, FileAccount, Reader
from tfr.records import Record

__all__ = [
    "IMAGE_KEYS",
    "LABEL_KEYS",
    "NAME_KEYS",
    "Note",
    "UnpackOptions",
    "UnpackResult",
    "find_image_key",
    "safe_name",
    "unpack",
]

# Where the usual layouts keep things: the tutorial's keys, TensorFlow's converters, TFDS.
IMAGE_KEYS = ("image", "image/encoded")
NAME_KEYS = ("filename", "image/filename")
LABEL_KEYS = ("label", "image/class/label")
# The class name stored beside the id, used for folder names when no label map is known.
_LABEL_TEXT_KEYS = {"image/class/label": "image/class/text"}
# (height, width, channels) as the layouts store them.
_SHAPE_KEYS = (
    ("rows", "cols", "channels"),
    ("image/height", "image/width", "image/channels"),
    ("height", "width", "channels"),
)
_MAX_NAME_BYTES = 255  # the limit of common file systems
_UNLABELLED = "unlabelled"
# Opening these names on Windows opens a device, whatever the folder or extension.
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in "123456789"]
)


def safe_name(name: str) -> tuple[str, str | None]:
    """A file name that cannot leave the folder it is joined to, and what was wrong, if anything.

    Path separators (``/`` and ``\\``) and ``.``/``..`` parts are folded into one name
    (``a/../b.jpg`` -> ``a_b.jpg``); NUL and control characters and ``:`` (a drive or stream
    on Windows) become ``_``; Windows device names get a ``_`` in front; an over-long name is
    shortened, keeping its extension. An empty result means no usable name was stored.
    """
    problems: list[str] = []
    cleaned = "".join("_" if ord(c) < 32 or c == "\x7f" else c for c in name)
    if cleaned != name:
        problems.append("control characters")
    if ":" in cleaned:
        cleaned = cleaned.replace(":", "_")
        problems.append("':'")
    parts = cleaned.replace("\\", "/").split("/")
    if len(parts) > 1:
        problems.append("a path")
    kept = [p for p in parts if p.strip(". ")]
    if any(p.strip(". ") == "" and p for p in parts):
        problems.append("'.' or '..'")
    cleaned = "_".join(kept)
    if not cleaned:
        return "", "it is empty" if not name else f"{name!r} has no usable name in it"
    stem = cleaned.split(".", 1)[0].rstrip(" ").upper()
    if stem in _WINDOWS_DEVICES:
        cleaned = "_" + cleaned
        problems.append("a Windows device name")
    if len(cleaned.encode("utf-8")) > _MAX_NAME_BYTES:
        cleaned = _shorten(cleaned)
        problems.append("too long")
    if not problems:
        return cleaned, None
    return cleaned, f"{name!r} has " + ", ".join(problems)


def _shorten(name: str) -> str:
    stem, extension = os.path.splitext(name)
    if len(extension.encode("utf-8")) > 16:
        stem, extension = name, ""
    budget = _MAX_NAME_BYTES - len(extension.encode("utf-8"))
    return stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + extension


def _with_suffix(name: str, number: int) -> str:
    stem, extension = os.path.splitext(name)
    tail = f"-{number}{extension}"
    budget = _MAX_NAME_BYTES - len(tail.encode("utf-8"))
    return stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + tail


def find_image_key(features: Features) -> str | None:
    """The key holding the image: a usual key if present, else the one bytes key holding an
    image format; None when there is none or more than one such key.
    """
    for key in IMAGE_KEYS:
        kind, values = features.get(key, ("", []))
        if kind == "bytes" and values:
            return key
    found = [
        key
        for key, (kind, values) in features.items()
        if kind == "bytes" and values and images.sniff(values[0])
    ]
    return found[0] if len(found) == 1 else None


def _first(features: Features, key: str, kind: str) -> Any:
    found_kind, values = features.get(key, ("", []))
    return values[0] if found_kind == kind and len(values) == 1 else None


def _stored_shape(features: Features) -> _Shape | None:
    for keys in _SHAPE_KEYS:
        height, width, channels = (_first(features, k, "int64") for k in keys)
        if height is not None or width is not None:
            return height, width, channels
    return None


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


@dataclass(frozen=True)
class Note:
    """Something the summary reports about one record."""

    path: str  # the record's file
    index: int
    offset: int
    output: str | None  # the file written for it, relative to the output folder
    detail: str

    def where(self) -> str:
        return f"{self.path}: record {self.index} at byte {self.offset}"


@dataclass
class UnpackResult:
    """What an unpack did, for the summary."""

    outdir: str
    inputs: list[FileAccount] = field(default_factory=list)
    written: int = 0
    bytes_written: int = 0
    per_label: Counter[str] = field(default_factory=Counter)  # label (name or id) -> images
    mismatches: list[Note] = field(default_factory=list)  # decoded shape differs, or no decode
    renamed: list[Note] = field(default_factory=list)  # unsafe or duplicate names
    skipped: list[Note] = field(default_factory=list)  # nothing written: no image, file exists
    label_maps: list[str] = field(default_factory=list)  # label map files used
    seconds: float = 0.0

    @property
    def lost(self) -> list[RecordError]:
        """Damage passed over with ``skip_corrupt``."""
        return [error for account in self.inputs for error in account.errors]

    @property
    def records(self) -> int:
        return sum(account.records for account in self.inputs)


_Shape = tuple[int | None, int | None, int | None]
_EXISTS = "the file exists (pass --overwrite to replace it)"


@dataclass(frozen=True, slots=True)
class _Image:
    """One image to write: its bytes and where they go."""

    data: bytes
    output: str  # relative to the output folder, "/" between folder and name
    target: str  # the path written
    image_format: str | None
    exists: bool  # a file is there already: kept, and the image not checked


@dataclass(slots=True)
class _Task:
    """One record's work: its images, then what the summary says about it, in order.

    Planned in record order, checked on a worker, written in record order again.
    """

    where: tuple[str, int, int]  # the record's file, index and offset
    label: str | None = None
    stored: _Shape | None = None  # the shape the record gives, to check the decode against
    images: list[_Image] = field(default_factory=list)
    notes: list[tuple[list[Note], Note]] = field(default_factory=list)  # (its list, the note)
    written: list[int] = field(default_factory=list)  # bytes of each image written


class _Unpacker:
    def __init__(self, outdir: str, options: UnpackOptions, result: UnpackResult) -> None:
        self.outdir = outdir
        self.options = options
        self.result = result
        self.used: set[str] = set()  # output names taken in this run, case-folded
        self.file_index: dict[str, int] = {}
        self.label_names: dict[str, dict[int, str] | None] = {}  # input -> its label map
        self.folders: dict[str, str] = {}  # label -> its folder

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
                f"{what} (keys: {', '.join(sorted(features)) or 'none'}); "
                "name the image's key with --image-key",
            )
            return task
        task.label = self._label_text(record, features)
        task.stored = _stored_shape(features) if options.verify else None
        folder = self._folder(task) if options.by_label else None
        for number, data in enumerate(values):
            self._place(task, record, features, data, number, folder)
        return task

    def check(self, task: _Task) -> _Task:
        """Decode a record's images to check them, if asked; runs on a worker thread."""
        if self.options.verify:
            for image in task.images:
                if not image.exists:
                    self._verify(task, image)
        return task

    def finish(self, task: _Task) -> None:
        """Write a record's images, then add its notes and counts to the result.

        Files are created here, in record order: created by the workers at once, they only
        contended for their folder (more system time, no less wall time).
        """
        for image in task.images:
            if image.exists or not self._write(image):
                self._note(task, self.result.skipped, image.output, _EXISTS)
            else:
                task.written.append(len(image.data))
        for notes, note in task.notes:
            notes.append(note)
        result = self.result
        result.written += len(task.written)
        result.bytes_written += sum(task.written)
        if task.label is not None and task.written:
            result.per_label[task.label] += len(task.written)

    def _place(
        self,
        task: _Task,
        record: Record,
        features: Features,
        data: bytes,
        number: int,
        folder: str | None,
    ) -> None:
        image_format = images.sniff(data)
        name, renamed = self._name(record, features, image_format)
        if number:
            name = _with_suffix(name, number)
        unique, count = name, 0
        while self._taken(folder, unique):
            count += 1
            unique = _with_suffix(name, count)
        if count:
            renamed = (f"{renamed}; " if renamed else "") + (
                f"another record already gave the name {name!r}"
            )
        output = unique if folder is None else f"{folder}/{unique}"
        self.used.add(output.casefold())
        if renamed:
            self._note(task, self.result.renamed, output, renamed)
        target = os.path.join(self.outdir, *output.split("/"))
        exists = not self.options.overwrite and os.path.lexists(target)
        task.images.append(_Image(data, output, target, image_format, exists))

    def _write(self, image: _Image) -> bool:
        """Write one image; False when a file is there already (and is kept)."""
        if self.options.overwrite:
            # The old file stays whole until the new one replaces it in one rename.
            temporary, file = open_temporary(image.target)
            try:
                with file:
                    file.write(image.data)
                publish(temporary, image.target, overwrite=True)
            finally:
                discard(temporary)
            return True
        created = _create(image.target)
        if created is None:
            return False
        try:
            with created:
                created.write(image.data)
        except BaseException:
            # The file is ours, being new: nothing half-written stays under a final name.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(image.target)
            raise
        return True

    def _taken(self, folder: str | None, name: str) -> bool:
        # Case-folded: on macOS and Windows "Cat.jpg" and "cat.jpg" are one file.
        output = name if folder is None else f"{folder}/{name}"
        return output.casefold() in self.used

    def _name(
        self, record: Record, features: Features, image_format: str | None
    ) -> tuple[str, str | None]:
        options = self.options
        keys = [options.name_key] if options.name_key else list(NAME_KEYS)
        stored: bytes | None = None
        for key in keys:
            kind, values = features.get(key, ("", []))
            if kind == "bytes" and values:
                stored = values[0]
                break
        problem = None
        name = ""
        if stored is not None:
            try:
                text = stored.decode("utf-8")
            except UnicodeDecodeError:
                text = stored.decode("utf-8", "replace")
                problem = f"the stored name {stored!r} is not UTF-8"
            name, unsafe = safe_name(text)
            problem = problem or (None if unsafe is None else f"the stored name: {unsafe}")
        if not name:
            index = self.file_index.setdefault(record.path, len(self.file_index))
            name = f"record-{index:05d}-{record.index:07d}"
        if (
            image_format is not None
            and os.path.splitext(name)[1].lower() not in images.IMAGE_SUFFIXES
        ):
            # The tutorial's JPEG variant stores "cat_3": the bytes say what it is.
            name += images.EXTENSIONS[image_format]
            if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
                name = _shorten(name)
        return name, problem

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
        names = self._label_names(record.path)
        if names is not None and label in names:
            return names[label]
        for label_key, text_key in _LABEL_TEXT_KEYS.items():
            if _first(features, label_key, "int64") == label:
                text = _first(features, text_key, "bytes")
                if text is not None:
                    return bytes(text).decode("utf-8", "replace")
        return str(label)

    def _label_names(self, path: str) -> dict[int, str] | None:
        if self.options.label_map is not None:
            return {label: name for name, label in self.options.label_map.items()}
        if path not in self.label_names:
            map_path = label_map_path(path)
            names = None
            if os.path.isfile(map_path):
                names = {label: name for name, label in load_label_map(map_path).items()}
                if map_path not in self.result.label_maps:
                    self.result.label_maps.append(map_path)
            self.label_names[path] = names
        return self.label_names[path]

    def _folder(self, task: _Task) -> str:
        label = task.label
        if label is None:
            os.makedirs(os.path.join(self.outdir, _UNLABELLED), exist_ok=True)
            return _UNLABELLED
        known = self.folders.get(label)
        if known is not None:
            return known
        folder, problem = safe_name(label)
        if not folder:
            folder = "label-" + label.encode("utf-8").hex()
        if problem or folder != label:
            self._note(
                task,
                self.result.renamed,
                folder,
                f"the label as a folder name: {problem or 'it is empty'}",
            )
        path = os.path.join(self.outdir, folder)
        if os.path.islink(path):
            # A link planted in the output folder would carry the images outside it.
            raise UsageError(
                f"{path} is a symbolic link: tfr unpack writes only inside "
                f"{self.outdir}; remove the link or unpack elsewhere"
            )
        os.makedirs(path, exist_ok=True)
        self.folders[label] = folder
        return folder

    def _verify(self, task: _Task, image: _Image) -> None:
        mismatches = self.result.mismatches
        data, output, image_format = image.data, image.output, image.image_format
        if image_format is None:
            self._note(task, mismatches, output, "the bytes are no image format tfr knows")
            return
        try:
            info = images.probe(data)
            images.verify(data, info)
        except ImageError as exc:
            self._note(
                task, mismatches, output, f"the {image_format} does not decode: {exc.reason}"
            )
            return
        if not info.tf_decodable:
            self._note(task, mismatches, output, f"TensorFlow cannot decode it: {info.tf_problem}")
        stored = task.stored
        if stored is None:
            return
        # Channels are 0 when TensorFlow cannot decode the image: that was reported above.
        decoded = (info.height, info.width, info.channels or None)
        pairs = zip(stored, decoded, strict=True)
        if any(s is not None and d is not None and s != d for s, d in pairs):
            self._note(
                task,
                mismatches,
                output,
                f"stored shape {_shape(stored)} but the {image_format} decodes to "
                f"{_shape(decoded)}",
            )

    @staticmethod
    def _note(task: _Task, notes: list[Note], output: str | None, detail: str) -> None:
        task.notes.append((notes, Note(*task.where, output, detail)))


def _shape(shape: Iterable[int | None]) -> str:
    return "x".join("?" if n is None else str(n) for n in shape)


def _create(path: str) -> BinaryIO | None:
    """A new file, opened exclusively (a link is not followed); None if the name is taken."""
    try:
        return open(path, "xb")
    except FileExistsError:
        return None


def _workers(options: UnpackOptions) -> int:
    return options.workers or (default_workers() if options.verify else 1)


def unpack(
    patterns: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    options: UnpackOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> UnpackResult:
    """Write the image of every record in the files named into ``outdir``.

    Raises :class:`~tfr.errors.RecordError` on damage unless ``options.skip_corrupt``;
    ``progress`` is called with 1 after each record.
    """
    options = options or UnpackOptions()
    outdir = os.fspath(outdir)
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise UsageError(f"{outdir} is a file: name a folder to unpack into")
    started = time.monotonic()
    reader = Reader(
        patterns,
        compression=options.compression,
        check_crc=options.check_crc,
        skip_corrupt=options.skip_corrupt,
    )
    result = UnpackResult(outdir=outdir, inputs=reader.files)
    os.makedirs(outdir, exist_ok=True)
    unpacker = _Unpacker(outdir, options, result)
    tasks = (unpacker.plan(record, features) for record, features in reader.examples())
    for task in ordered_map(unpacker.check, tasks, _workers(options)):
        unpacker.finish(task)
        if progress is not None:
            progress(1)
    result.seconds = time.monotonic() - started
    return result
