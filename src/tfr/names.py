"""Names of everything tfr writes beside an output, and how a set of shards is found again.

An output ``out/train.tfrecord`` (or ``.tfrecord.gz``) has a *stem*, ``out/train``, and a
*suffix*, ``.tfrecord``. Everything belonging to it is named from the stem:

- its shards: ``out/train-00000-of-00004.tfrecord``, the form TensorFlow's converters, Beam
  and TFDS use;
- its splits, each a set of its own with its own manifest: ``out/flowers.tfrecord`` split
  gives ``out/flowers-validation.tfrecord`` or ``out/flowers-train-00000-of-00004.tfrecord``
  ..., the whole described by ``out/flowers.manifest.json``;
- its label map ``out/train.labels.txt`` and its manifest ``out/train.manifest.json``;
- each file's record index, if asked for: ``out/train.tfrecord.idx``;
- while a run writes it, a lock ``out/.train.tfr-lock``, a journal ``out/.train.tfr-journal``
  during the commit, temporaries ``out/.train.tfr-<hex>.tmp`` and files set aside for an
  ``--overwrite`` ``out/.train.tfr-<hex>.old``. The hidden names are distinctive, so a later
  run can recognise what an interrupted one left.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from typing import NamedTuple

from tfr import storage
from tfr.errors import UsageError

__all__ = [
    "COMPRESSED_SUFFIXES",
    "INDEX_SUFFIX",
    "ShardName",
    "existing_outputs",
    "expand_paths",
    "expand_pattern",
    "index_path",
    "journal_path",
    "label_map_path",
    "leftover_pattern",
    "listing_path",
    "lock_path",
    "manifest_path",
    "output_stem",
    "parse_shard_name",
    "part_path",
    "part_pattern",
    "progress_path",
    "shard_glob",
    "shard_name",
    "split_output",
    "split_output_name",
    "temporary_path",
]

COMPRESSED_SUFFIXES = (".gz", ".gzip", ".zz", ".zlib")
INDEX_SUFFIX = ".idx"
_SHARD_MARK = re.compile(r"-(\d{5})-of-(\d{5})")
_DIGITS5 = "[0-9]" * 5


def split_output_name(path: str) -> tuple[str, str]:
    """``out/train.tfrecord.gz`` -> (``out/train``, ``.tfrecord.gz``): where a shard mark goes."""
    folder, name = os.path.split(path)
    stem, suffix = name, ""
    for _ in range(2):  # a compression suffix may follow the record suffix
        base, dot, extension = stem.rpartition(".")
        if not dot or not base:
            break
        stem, suffix = base, f".{extension}{suffix}"
        if f".{extension}".lower() not in COMPRESSED_SUFFIXES:
            break
    return os.path.join(folder, stem), suffix


def split_output(path: str, split: str) -> str:
    """The output a split of ``path`` is written as: ``out/flowers.tfrecord`` and ``train``
    give ``out/flowers-train.tfrecord``, whose shards are ``out/flowers-train-00000-of-...``."""
    stem, suffix = split_output_name(path)
    return f"{stem}-{split}{suffix}"


def shard_name(path: str, index: int, total: int) -> str:
    """The name of shard ``index`` of ``total`` for the output ``path``."""
    stem, suffix = split_output_name(path)
    return f"{stem}-{index:05d}-of-{total:05d}{suffix}"


class ShardName(NamedTuple):
    """A file name read as a member of a set: ``out/train-00001-of-00004.tfrecord``."""

    path: str
    output: str  # the name the set was written as: out/train.tfrecord
    number: int  # of this file in the set, from 0
    total: int

    def sibling(self, index: int) -> str:
        """The path of member ``index`` of the same set."""
        return shard_name(self.output, index, self.total)


def parse_shard_name(path: str) -> ShardName | None:
    """The set a path belongs to, if its name carries a shard mark; None otherwise."""
    folder, name = os.path.split(path)
    stem, suffix = split_output_name(name)
    match = _SHARD_MARK.search(stem)
    if match is None or match.end() != len(stem):
        return None
    index, total = int(match.group(1)), int(match.group(2))
    output = os.path.join(folder, stem[: match.start()] + suffix)
    return ShardName(path, output, index, total)


def output_stem(path: str) -> str:
    """The stem of an output, or of the output a shard belongs to: ``out/train``.

    Only the file name is read for a shard mark: ``runs/exp-00001-of-00003/train.tfrecord``
    is the output ``train`` in the folder ``runs/exp-00001-of-00003``.
    """
    shard = parse_shard_name(path)
    return split_output_name(shard.output if shard else path)[0]


def shard_glob(path: str) -> str:
    """A glob pattern matching every shard of ``path``'s set, whatever their total."""
    stem, suffix = split_output_name(path)
    mark = f"-{_DIGITS5}-of-{_DIGITS5}"
    return glob.escape(stem) + mark + glob.escape(suffix)


def existing_outputs(path: str) -> list[str]:
    """Files already at ``path`` or in its shard set, which a new output would clash with."""
    found = storage.glob(shard_glob(path))
    return [path, *found] if storage.lexists(path) else found


def label_map_path(record_path: str | os.PathLike[str]) -> str:
    """Where the label map of an output lives: ``out/train.tfrecord`` and its shards
    ``out/train-00000-of-00004.tfrecord`` both map to ``out/train.labels.txt``."""
    return output_stem(os.fspath(record_path)) + ".labels.txt"


def manifest_path(record_path: str | os.PathLike[str]) -> str:
    """Where the manifest of an output (or of the set a shard belongs to) lives."""
    return output_stem(os.fspath(record_path)) + ".manifest.json"


def index_path(record_path: str | os.PathLike[str]) -> str:
    """Where the record index of one file lives: beside it, ``.idx`` added to its name."""
    return os.fspath(record_path) + INDEX_SUFFIX


def _hidden(record_path: str, tail: str) -> str:
    folder, name = os.path.split(output_stem(record_path))
    return os.path.join(folder, f".{name}.tfr-{tail}")


def lock_path(record_path: str | os.PathLike[str]) -> str:
    """The lock a run holds while it writes an output."""
    return _hidden(os.fspath(record_path), "lock")


def journal_path(record_path: str | os.PathLike[str]) -> str:
    """The journal of an output's commit: what is being published and what was set aside."""
    return _hidden(os.fspath(record_path), "journal")


def progress_path(record_path: str | os.PathLike[str]) -> str:
    """The record of an unfinished run's finished shards, for ``--resume``."""
    return _hidden(os.fspath(record_path), "progress")


def listing_path(record_path: str | os.PathLike[str]) -> str:
    """The plan of an unfinished run, one image a line, to say what changed on ``--resume``."""
    return _hidden(os.fspath(record_path), "listing")


def part_path(record_path: str | os.PathLike[str], number: int) -> str:
    """Where a finished shard waits for the commit, kept if the run is interrupted."""
    return _hidden(os.fspath(record_path), f"part-{number:05d}")


def part_pattern(record_path: str | os.PathLike[str]) -> str:
    """A glob matching the finished shards an unfinished run kept."""
    folder, name = os.path.split(output_stem(os.fspath(record_path)))
    return os.path.join(glob.escape(folder), f".{glob.escape(name)}.tfr-part-{'[0-9]' * 5}")


def temporary_path(record_path: str, kind: str = "tmp") -> str:
    """A new hidden name beside the output for a file being written (``kind`` "tmp") or one
    set aside (``"old"``); random, so runs and threads never pick the same."""
    return _hidden(record_path, f"{os.urandom(4).hex()}.{kind}")


def leftover_pattern(record_path: str | os.PathLike[str]) -> str:
    """A glob matching every temporary file of an output's runs (not the files an overwrite
    set aside: only the journal says what to do with those)."""
    folder, name = os.path.split(output_stem(os.fspath(record_path)))
    return os.path.join(glob.escape(folder), f".{glob.escape(name)}.tfr-{'[0-9a-f]' * 8}.tmp")


def expand_paths(patterns: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Files named by paths or glob patterns, in sorted order per pattern.

    A path that does not exist but whose shards do (``out.tfrecord`` written as
    ``out-00000-of-00004.tfrecord`` ...) stands for those shards. What a glob matches beside
    the record files it matches is left out when tfr wrote it for them: their label map,
    manifest and indexes (``out/*`` names the records, not their companions). A file named
    outright is always kept.
    """
    files: list[str] = []
    for pattern in patterns:
        files += expand_pattern(os.fspath(pattern))[0]
    return files


def expand_pattern(pattern: str) -> tuple[list[str], bool]:
    """The files one pattern names (see :func:`expand_paths`), and whether it named a file
    outright (rather than a glob or a set): one look at the pattern, a request in a store."""
    if storage.isdir(pattern):
        raise UsageError(
            f"{pattern} is a folder: name the files in it, "
            f"e.g. '{os.path.join(pattern, '*.tfrecord')}'"
        )
    if storage.isfile(pattern):
        return [pattern], True
    matches = storage.glob(pattern)
    if not matches:
        matches = existing_outputs(pattern)
    if not matches:
        raise UsageError(f"no file matches {pattern}")
    return _without_companions(matches), False


def _without_companions(matches: list[str]) -> list[str]:
    companions: set[str] = set()
    for path in matches:
        companions.update((index_path(path), label_map_path(path), manifest_path(path)))
    return [path for path in matches if path not in companions]
