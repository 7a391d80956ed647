"""Inputs checked as sets: is every file of a set there, and is each the one that was written?

A set written by tfr has a manifest; each of its files must be listed in it with the same size,
and where the set was named as a whole (by its output name or a glob), every file it lists must
be there. A set without a manifest whose lock is still beside it was not finished by the run
writing it (or is being written now). A set without either, as TensorFlow, Beam or TFDS write
them, must have all its ``-of-N`` members. A file named on its own is checked against its
manifest, without asking for the rest of its set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import NamedTuple

from tfr import names, storage
from tfr.errors import ForeignShard, IncompleteSet, SetError
from tfr.lock import lock_state
from tfr.manifest import FileEntry, Manifest, read_manifest

__all__ = ["InputFile", "resolve_inputs"]


class InputFile(NamedTuple):
    """A file to read, and what its manifest says it holds (None where there is none)."""

    path: str
    expected: FileEntry | None = None


def resolve_inputs(patterns: Iterable[str | os.PathLike[str]]) -> list[InputFile]:
    """The files named by paths, globs and set names, each checked with its set.

    Raises :class:`~tfr.errors.IncompleteSet` for a missing member or an unfinished set, and
    :class:`~tfr.errors.ForeignShard` for a file its set's manifest does not list as it is.
    """
    named: list[tuple[str, bool]] = []  # (path, whether its whole set was asked for)
    for given in patterns:
        paths, outright = names.expand_pattern(os.fspath(given))
        named += [(path, not outright) for path in paths]
    groups: dict[str, list[tuple[str, bool]]] = {}
    for path, whole in named:
        groups.setdefault(names.manifest_path(path), []).append((path, whole))
    expected: dict[str, FileEntry | None] = {}
    for manifest_file, members in groups.items():
        manifest = read_manifest(manifest_file) if storage.isfile(manifest_file) else None
        if manifest is not None and manifest.part_of is not None:
            _check_whole_output(manifest_file, manifest.part_of, members)
        if manifest is not None:
            expected.update(_against_manifest(manifest_file, manifest, members))
        else:
            _without_manifest(members)
    return [InputFile(path, expected.get(path)) for path, _ in named]


def _against_manifest(
    manifest_file: str, manifest: Manifest, members: list[tuple[str, bool]]
) -> dict[str, FileEntry | None]:
    found: dict[str, FileEntry | None] = {}
    governed = False
    for path, _ in members:
        entry = manifest.entry(os.path.basename(path))
        if entry is None:
            if not _governed_by(manifest, path):
                found[path] = None  # another set with the same stem (say, TensorFlow's)
                continue
            listed = ", ".join(e.name for e in manifest.files[:3])
            raise ForeignShard(
                path,
                f"not a file of the set its manifest {manifest_file} describes ({listed}"
                f"{', ...' if len(manifest.files) > 3 else ''}): a leftover of another run? "
                "remove it, or name the files to read",
            )
        size = storage.size(path)
        if size != entry.bytes:
            raise ForeignShard(
                path,
                f"has {size:,} bytes but its manifest {manifest_file} lists {entry.bytes:,}: it "
                "was changed or replaced after it was written",
            )
        found[path] = entry
        governed = True
    if governed and any(whole for _, whole in members):
        folder = os.path.dirname(manifest_file)
        present = {os.path.basename(path) for path, _ in members}
        missing = [os.path.join(folder, e.name) for e in manifest.files if e.name not in present]
        if missing:
            raise IncompleteSet(
                _set_name(manifest_file),
                f"{_count(missing)} of the {len(manifest.files)} files its manifest lists "
                f"{'is' if len(missing) == 1 else 'are'} missing: {_first(missing)}",
                missing=missing,
            )
    return found


def _governed_by(manifest: Manifest, path: str) -> bool:
    """Whether ``path`` is named as a file of the manifest's set would be."""
    listed = manifest.files[0].name if manifest.files else ""
    if not manifest.sharded:
        return os.path.basename(path) == listed
    shard = names.parse_shard_name(path)
    ours = names.parse_shard_name(listed)
    return (
        shard is not None
        and ours is not None
        and os.path.basename(shard.output) == os.path.basename(ours.output)
    )


def _check_whole_output(manifest_file: str, part_of: str, members: list[tuple[str, bool]]) -> None:
    """A split is complete once its output is: the output's manifest is published last."""
    whole = storage.join(os.path.dirname(manifest_file), os.path.basename(part_of))
    if storage.isfile(whole):
        return
    _refuse_if_locked(members[0][0])
    raise IncompleteSet(
        _set_name(manifest_file),
        f"it is a split of an output whose manifest {whole} is missing: the run that wrote it "
        "did not finish, or the manifest was removed; pack it again",
    )


def _refuse_if_locked(path: str) -> None:
    """IncompleteSet if a run holds (or held, and died holding) the lock of ``path``'s set."""
    # Object stores have no lock: a run writing there is not seen (see tfr.output_remote).
    lock = None if storage.is_url(path) else lock_state(names.lock_path(path))
    if lock is not None:
        owner = f" ({lock.owner})" if lock.owner else ""
        detail = (
            f"it is being written by another run{owner}; wait for it to finish"
            if lock.live
            else f"the run writing it did not finish{owner}; run the same 'tfr pack' again "
            "to clean up and write it"
        )
        raise IncompleteSet(_set_name(path), detail, unfinished=lock.path)


def _without_manifest(members: list[tuple[str, bool]]) -> None:
    _refuse_if_locked(members[0][0])
    sets: dict[str, list[names.ShardName]] = {}
    for path, whole in members:
        shard = names.parse_shard_name(path)
        if shard is not None and whole:
            sets.setdefault(shard.output, []).append(shard)
    for output, shards in sets.items():
        totals = sorted({s.total for s in shards})
        if len(totals) > 1:
            raise SetError(
                f"{output}: the files named mix sets of {' and '.join(map(str, totals))} files; "
                "name the files of one set"
            )
        present = {s.number for s in shards}
        missing = [shards[0].sibling(i) for i in range(totals[0]) if i not in present]
        if missing:
            raise IncompleteSet(
                output,
                f"{_count(missing)} of its {totals[0]} files "
                f"{'is' if len(missing) == 1 else 'are'} missing: {_first(missing)}",
                missing=missing,
            )


def _set_name(path: str) -> str:
    return names.output_stem(path)


def _count(paths: list[str]) -> str:
    return f"{len(paths):,}"


def _first(paths: list[str], shown: int = 3) -> str:
    return ", ".join(paths[:shown]) + (
        f" and {len(paths) - shown:,} more" if len(paths) > shown else ""
    )
