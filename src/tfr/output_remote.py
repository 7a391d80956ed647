"""An output in an object store (``s3://``, ``gs://``, ...): whole or not at all, as far as the
store allows.

An object appears only once its upload is complete, so each file is uploaded under a hidden
temporary key beside the output (``.out.tfr-<hex>.tmp``), and the commit copies each to its
final key inside the store (no data passes through this machine), the manifest last, then
removes the temporaries. A failed run removes its temporaries and aborts its unfinished
multipart uploads; one killed outright leaves them, and the next run on the output removes
them and says so.

What an object store cannot give: it has no lock, so two runs writing one output at once are
not detected; and with ``overwrite`` the earlier output's manifest is removed first and its
files replaced one by one, so an overwrite that fails half-way leaves neither output whole
(readers then refuse the set for its missing or mismatched files: run it again).
"""

from __future__ import annotations

import contextlib
import fnmatch
import posixpath
from collections.abc import Iterable
from typing import BinaryIO

from tfr import names, storage
from tfr.atomic import writing
from tfr.errors import OutputExists, UsageError
from tfr.interrupts import critical
from tfr.manifest import Manifest
from tfr.output import Recovery, Written, earlier_members

__all__ = ["RemoteOutputSet"]


class RemoteOutputSet:
    """Writes the output ``path`` (a URL) all or nothing; see the module's description."""

    local = False

    def __init__(self, path: str, *, overwrite: bool = False) -> None:
        self.path = path
        self.members = [path]
        self.overwrite = overwrite
        self.folder = posixpath.dirname(path)
        self.committed = False
        self.replaced = False
        self.fs, _ = storage.filesystem(path)
        self._temporaries: list[str] = []
        if path.endswith("/"):
            raise UsageError(f"{path} ends with '/': name the output file")
        self.recovered = self._remove_leftovers()

    def _remove_leftovers(self) -> Recovery | None:
        leftovers = storage.glob(names.leftover_pattern(self.path))
        aborted = self._abort_uploads()
        if not leftovers and not aborted:
            return None
        recovery = Recovery(None)
        for leftover in leftovers:
            with contextlib.suppress(OSError):
                recovery.removed_bytes += storage.size(leftover)
                self._remove(leftover)
                recovery.removed.append(leftover)
        recovery.removed += aborted
        return recovery

    def _abort_uploads(self) -> list[str]:
        """Multipart uploads of temporaries a killed run began (S3 keeps them, unseen)."""
        listing = getattr(self.fs, "list_multipart_uploads", None)
        if listing is None:
            return []
        _, inner = storage.filesystem(names.temporary_path(self.path))
        bucket, _, key = inner.partition("/")
        prefix = key.rpartition(".tfr-")[0] + ".tfr-"
        aborted = []
        with contextlib.suppress(Exception):  # a store that cannot list them: nothing to abort
            for upload in listing(bucket):
                if upload.get("Key", "").startswith(prefix):
                    self.fs.call_s3(
                        "abort_multipart_upload",
                        Bucket=bucket,
                        Key=upload["Key"],
                        UploadId=upload["UploadId"],
                    )
                    aborted.append(f"s3://{bucket}/{upload['Key']}")
        return aborted

    def _present(self) -> set[str]:
        """Every object beside the output, from one listing (asking for each name would be a
        request of 20-50 ms each)."""
        _, folder = storage.filesystem(self.folder)
        self.fs.invalidate_cache(folder)
        try:
            listed = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return set()
        return {posixpath.join(self.folder, posixpath.basename(name)) for name in listed}

    def existing(self, present: set[str] | None = None) -> list[str]:
        """As :meth:`tfr.output.OutputSet.existing`, from one listing of the folder."""
        present = self._present() if present is None else present
        found: list[str] = []
        for member in earlier_members(self.path, self.members, present.__contains__):
            shard = posixpath.basename(names.shard_glob(member))
            files = sorted(p for p in present if fnmatch.fnmatchcase(posixpath.basename(p), shard))
            if member in present:
                files.insert(0, member)
            companions = [*map(names.index_path, files), names.manifest_path(member)]
            found += files + [path for path in companions if path in present]
        return list(dict.fromkeys(found))

    def add_members(self, members: list[str]) -> None:
        """The outputs this commit publishes instead of ``path`` itself: its splits."""
        self.members = members

    def refuse_existing(self) -> None:
        clashes = self.existing()
        if clashes and not self.overwrite:
            raise OutputExists(clashes[0])

    def check_label_map(self, data: bytes) -> None:
        map_path = names.label_map_path(self.path)
        if not self.overwrite and self._holds(map_path, data) is False:
            raise OutputExists(map_path)

    def _holds(self, path: str, data: bytes) -> bool | None:
        """Whether the object at ``path`` holds ``data``; None if there is none (one request
        either way)."""
        try:
            return storage.read_bytes(path) == data
        except FileNotFoundError:
            return None

    def reserve(self) -> str:
        path = names.temporary_path(self.path)
        self._temporaries.append(path)
        return path

    def temporary(self) -> tuple[str, BinaryIO]:
        path = names.temporary_path(self.path)
        self._temporaries.append(path)
        with writing(self.path):
            file = self.fs.open(path, "wb")
        return path, file

    def write_file(self, final: str, data: bytes) -> Written:
        path = names.temporary_path(self.path)
        self._temporaries.append(path)
        with writing(final):
            self.fs.pipe_file(path, data)
        return Written(path, final, 0, len(data))

    def commit(self, files: Iterable[Written], manifest: Manifest, label_map: bytes | None) -> None:
        files = list(files)
        if label_map is not None:
            map_path = names.label_map_path(self.path)
            if not self._holds(map_path, label_map):
                files.append(self.write_file(map_path, label_map))
        files.append(self.write_file(names.manifest_path(self.path), manifest.dump()))
        finals = [f.final for f in files]
        present = self._present()
        earlier = self.existing(present)
        clashes = [p for p in dict.fromkeys([*earlier, *finals]) if p in present]
        if clashes and not self.overwrite:
            raise OutputExists(clashes[0])
        published: list[str] = []
        with critical():
            try:
                # The earlier output (and each of its splits) no longer reads as whole.
                manifests = {names.manifest_path(p) for p in [self.path, *self.members]}
                for manifest_path in clashes:
                    if manifest_path in manifests:
                        self._remove(manifest_path)
                for written in files:
                    with writing(written.final):
                        self.fs.copy(written.temporary, written.final)
                    published.append(written.final)
            except BaseException:
                for final in published:
                    with contextlib.suppress(Exception):
                        self._remove(final)
                raise
            self.committed = True
            self.replaced = bool(clashes)
            obsolete = [names.progress_path(self.path), names.listing_path(self.path)]
            for stale in [*(c for c in clashes if c not in finals), *obsolete]:
                if stale in present or stale in obsolete:
                    with contextlib.suppress(Exception):
                        self._remove(stale)

    def _remove(self, path: str) -> None:
        self.fs.rm_file(storage.filesystem(path)[1])

    def close(self) -> None:
        with critical():
            if self._temporaries:
                inner = [storage.filesystem(path)[1] for path in self._temporaries]
                with contextlib.suppress(Exception):  # one request for all of them
                    self.fs.rm(inner)
            self._temporaries = []

    def __enter__(self) -> RemoteOutputSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
