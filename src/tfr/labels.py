"""Label maps: class names to integer ids, where a file's class comes from, and the map file.

A label map is written ``cat=0,dog=1`` on the command line, or one ``name=id`` a line in a
file (``#`` starts a comment). ``tfr pack`` writes the map it used beside its output as
``<name>.labels.txt``, in that same format, so ``tfr unpack`` and people can read it back; the
splits of an output share its map, which their manifests name (:func:`find_label_map`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping

from tfr.errors import LabelError
from tfr.names import label_map_path

__all__ = [
    "LABEL_SOURCES",
    "LabelNames",
    "assign_ids",
    "class_of",
    "find_label_map",
    "format_label_map",
    "label_map_bytes",
    "label_map_path",
    "load_label_map",
    "parse_label_map",
]

LABEL_SOURCES = ("prefix", "dir", "parent", "none")


def parse_label_map(text: str, source: str = "the label map") -> dict[str, int]:
    """``"cat=0,dog=1"`` (commas or new lines) to ``{"cat": 0, "dog": 1}``.

    A name holding ``=``, ``,``, ``#``, quotes, spaces at its ends or control characters is
    written in double quotes with JSON's escapes (``"a=b"=0``), as :func:`format_label_map`
    writes it. Each name and each id may be given once.
    """
    mapping: dict[str, int] = {}
    names_of: dict[int, str] = {}
    multiline = "\n" in text.strip()
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}, line {number}" if multiline else source
        for name, label in _entries(line, where):
            if name in mapping:
                raise LabelError(f"{where}: {name!r} is given twice")
            if label in names_of:
                raise LabelError(
                    f"{where}: {names_of[label]!r} and {name!r} both have the id {label}; "
                    "give each class its own id"
                )
            mapping[name] = label
            names_of[label] = name
    if not mapping:
        raise LabelError(f"{source}: no labels given (write e.g. cat=0,dog=1)")
    return mapping


_DECODER = json.JSONDecoder()


def _entries(line: str, where: str) -> Iterator[tuple[str, int]]:
    """The ``name=id`` entries of one line, comments and blanks left out."""
    position = 0
    while position < len(line):
        while position < len(line) and line[position] in " \t,":
            position += 1
        if position >= len(line) or line[position] == "#":
            return
        if line[position] == '"':
            try:
                name, position = _DECODER.raw_decode(line, position)
            except ValueError:
                raise LabelError(f"{where}: a quoted name is not closed or not valid") from None
            rest = line[position:].lstrip()
            if not rest.startswith("="):
                raise LabelError(f"{where}: {name!r} is not followed by =id")
            position = len(line) - len(rest) + 1
        else:
            end = line.find("=", position)
            stop = min(
                (i for i in (line.find(",", position), line.find("#", position)) if i >= 0),
                default=len(line),
            )
            if end < 0 or end > stop:
                entry = line[position:stop].strip()
                raise LabelError(f"{where}: {entry!r} is not name=id (write e.g. cat=0,dog=1)")
            name = line[position:end].strip()
            if not name:
                raise LabelError(f"{where}: {line[position:stop].strip()!r} is not name=id")
            position = end + 1
        stop = min(
            (i for i in (line.find(",", position), line.find("#", position)) if i >= 0),
            default=len(line),
        )
        value = line[position:stop].strip()
        try:
            label = int(value)
        except ValueError:
            raise LabelError(
                f"{where}: the id of {name!r} must be an integer, not {value!r}"
            ) from None
        yield name, label
        position = stop


def load_label_map(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read a label map file (one ``name=id`` a line)."""
    from tfr import storage

    try:
        # Class names from file names may hold bytes that are not UTF-8: kept as they were.
        text = storage.read_bytes(os.fspath(path)).decode("utf-8", "surrogateescape")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"cannot read the label map {os.fspath(path)}: {exc}") from None
    return parse_label_map(text, source=os.fspath(path))


def find_label_map(record_path: str) -> str | None:
    """The label map file of a TFRecord file, if there is one: beside it by name
    (``out/train.labels.txt`` for ``out/train-00000-of-00004.tfrecord``), or the one its set's
    manifest names (a split, ``out/flowers-train...``, shares ``out/flowers.labels.txt``)."""
    from tfr import storage
    from tfr.errors import SetError
    from tfr.manifest import read_manifest
    from tfr.names import manifest_path

    beside = label_map_path(record_path)
    if storage.isfile(beside):
        return beside
    manifest = manifest_path(record_path)
    if not storage.isfile(manifest):
        return None
    try:
        named = read_manifest(manifest).label_map_file
    except SetError:
        return None  # whoever checks the set says what is wrong with it
    if not named:
        return None
    path = storage.join(os.path.dirname(record_path), os.path.basename(named))
    return path if storage.isfile(path) else None


def label_map_bytes(mapping: Mapping[str, int]) -> bytes:
    """The map as the bytes of a label map file (:func:`format_label_map`, in UTF-8, a class
    name's bytes that were not UTF-8 kept as they were)."""
    return format_label_map(mapping).encode("utf-8", "surrogateescape")


def format_label_map(mapping: Mapping[str, int]) -> str:
    """The map as the text ``load_label_map`` reads, ordered by id; a name that plain
    ``name=id`` cannot hold is quoted."""
    return "".join(
        f"{_name(name)}={label}\n"
        for name, label in sorted(mapping.items(), key=lambda kv: (kv[1], kv[0]))
    )


_PLAIN = re.compile(r"[^\s=,#\"\x00-\x1f\x7f](?:[^=,#\x00-\x1f\x7f]*[^\s=,#\x00-\x1f\x7f])?")


def _name(name: str) -> str:
    return name if _PLAIN.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def assign_ids(classes: Iterable[str]) -> dict[str, int]:
    """Ids from 0 for the distinct classes, in sorted order."""
    return {name: label for label, name in enumerate(sorted(set(classes)))}


def class_of(relative_path: str, source: str) -> str | None:
    """A file's class, from its path relative to the folder packed (``/`` separators):

    - ``prefix``: its name up to the first ``_`` (``cat_0.jpg`` is a ``cat``, the tutorial's);
    - ``dir``: the first folder under the one packed (``cat/2019/x.jpg`` is a ``cat``), as
      Keras' ``image_dataset_from_directory`` and TFDS read class folders;
    - ``parent``: the folder the file is in (``cat/2019/x.jpg`` is a ``2019``);
    - ``none``: no class.

    None for ``dir`` and ``parent`` when the file is not in a folder.
    """
    folder, _, name = relative_path.rpartition("/")
    if source == "prefix":
        return name.split(".", 1)[0].split("_", 1)[0]
    if source == "dir":
        return folder.partition("/")[0] or None
    if source == "parent":
        return folder.rpartition("/")[2] or None
    return None


class LabelNames:
    """Label ids to class names, for readers: from the map given, or from the label map found
    beside each file (each read once). ``found`` lists the label map files read, in order
    (into the list given, if one is)."""

    def __init__(
        self, given: Mapping[str, int] | None = None, found: list[str] | None = None
    ) -> None:
        self._given = None if given is None else {v: k for k, v in given.items()}
        self._beside: dict[str, dict[int, str] | None] = {}
        self.found = found if found is not None else []

    def of(self, path: str) -> dict[int, str] | None:
        """The names of the labels in the records of the file ``path``; None if unknown."""
        if self._given is not None:
            return self._given
        if path not in self._beside:
            map_path = find_label_map(path)
            names = None
            if map_path is not None:
                names = {v: k for k, v in load_label_map(map_path).items()}
                if map_path not in self.found:
                    self.found.append(map_path)
            self._beside[path] = names
        return self._beside[path]
