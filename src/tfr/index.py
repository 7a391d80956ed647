"""Index files: where each record of a TFRecord file starts and how long it is.

The format is the one NVIDIA DALI's ``tfrecord2idx`` writes and both DALI's reader and the
``tfrecord`` package read: one text line per record, ``<offset> <length>\\n`` in decimal, the
byte offset of the record's first byte and its length including the 16 bytes of framing.
The index of ``x.tfrecord`` is ``x.tfrecord.idx``, beside it.

Only a plain file has byte offsets to give: GZIP and ZLIB wrap the whole file, so a
compressed file is refused (:class:`NotIndexable`). An index is written under a temporary
name in its folder, synced and renamed, so nothing half-written ever has the final name.
An index that no longer describes its file (:class:`StaleIndex`) is told apart from one
that cannot be read at all (:class:`MalformedIndex`).
"""

from __future__ import annotations

import os
import struct
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

from tfr import names
from tfr.atomic import discard, fsync_folder, open_temporary, publish
from tfr.errors import OutputExists, RecordError, TfrError
from tfr.names import INDEX_SUFFIX, index_path
from tfr.records import detect_compression, masked_crc

__all__ = [
    "INDEX_SUFFIX",
    "RECORD_OVERHEAD",
    "FileIndex",
    "IndexFileError",
    "IndexWriter",
    "MalformedIndex",
    "NotIndexable",
    "StaleIndex",
    "check_index",
    "index_path",
    "load_index",
    "read_index",
    "scan",
    "write_index",
]

RECORD_OVERHEAD = 16  # length (8), its CRC (4), the payload's CRC (4)
_HEADER = 12
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
# A scan reads this much at each header it needs: one page holds the header of a large record,
# or the headers of many small ones, so small records do not cost a system call each.
_SCAN_BLOCK = 4096


class IndexFileError(TfrError, ValueError):
    """An index file cannot be used for its data file. ``path`` is the index file (None for an
    index built in memory), ``data_path`` the file it is for."""

    def __init__(self, path: str | None, data_path: str, detail: str) -> None:
        self.path = path
        self.data_path = data_path
        self.detail = detail
        super().__init__(f"{path or data_path}: {detail}")


class MalformedIndex(IndexFileError):
    """The index file is not lines of ``<offset> <length>`` laid end to end from byte 0."""


class StaleIndex(IndexFileError):
    """The index does not describe its data file as it is now: the file changed since."""


class NotIndexable(TfrError, ValueError):
    """A compressed file: its records have no byte offsets (``compression``: gzip or zlib)."""

    def __init__(self, path: str, compression: str) -> None:
        self.path = path
        self.compression = compression
        super().__init__(
            f"{path} is {compression.upper()}-compressed: its records have no byte offsets, "
            "so it cannot be indexed or read at random; decompress it first"
        )


@dataclass(frozen=True, eq=False)
class FileIndex:
    """The records of one plain TFRecord file: ``offsets[i]`` and ``lengths[i]`` (framing
    included) of record ``i``. ``size`` is the size of the file they describe; ``index_path``
    is the index file they were read from, None when they come from a scan."""

    path: str
    offsets: array[int]
    lengths: array[int]
    size: int
    index_path: str | None = None

    def __len__(self) -> int:
        return len(self.offsets)

    def same_records(self, other: FileIndex) -> bool:
        return self.offsets == other.offsets and self.lengths == other.lengths

    def text(self) -> bytes:
        """The index file's contents: a line ``<offset> <length>`` per record."""
        pairs = zip(self.offsets, self.lengths, strict=True)
        return b"".join(b"%d %d\n" % pair for pair in pairs)


def _damage(kind: str, path: str, index: int, offset: int, detail: str) -> RecordError:
    if offset == 0 and kind != "truncated":
        kind, detail = "not_tfrecord", detail + "; this is not a TFRecord file"
    return RecordError.of_kind(kind, path, index, offset, detail)


def _refuse_compressed(path: str, head: bytes) -> None:
    compression = detect_compression(head)
    if compression is not None:
        raise NotIndexable(path, compression)


def scan(path: str | os.PathLike[str]) -> FileIndex:
    """Index a plain TFRecord file by one pass over its record headers.

    Each length field's CRC is checked and every record must end within the file; the
    payloads are skipped, not read (a reader checks their CRCs when it reads them). Damage
    raises the :class:`~tfr.errors.RecordError` subclass naming the record and its offset;
    a compressed file raises :class:`NotIndexable`.
    """
    name = os.fspath(path)
    offsets: array[int] = array("q")
    lengths: array[int] = array("q")
    with open(name, "rb") as file:
        fd = file.fileno()
        size = os.fstat(fd).st_size
        offset = 0
        block = b""
        block_start = 0
        while offset < size:
            at = offset - block_start
            if at < 0 or at + _HEADER > len(block):
                block, block_start, at = os.pread(fd, _SCAN_BLOCK, offset), offset, 0
                if offset == 0:
                    _refuse_compressed(name, block)
            header = block[at : at + _HEADER]
            index = len(offsets)
            if len(header) < _HEADER:
                raise _damage(
                    "truncated",
                    name,
                    index,
                    offset,
                    f"the file ends inside a record header ({len(header)} of 12 bytes)",
                )
            if masked_crc(header[:8]) != _CRC.unpack_from(header, 8)[0]:
                raise _damage(
                    "corrupt", name, index, offset, "the length field's CRC does not match"
                )
            (length,) = _LENGTH.unpack_from(header)
            end = offset + RECORD_OVERHEAD + length
            if end > size:
                raise _damage(
                    "truncated",
                    name,
                    index,
                    offset,
                    f"the file ends inside the record: it claims {length} bytes and a 4-byte "
                    f"CRC, only {size - offset - _HEADER} bytes follow its header",
                )
            offsets.append(offset)
            lengths.append(end - offset)
            offset = end
    return FileIndex(name, offsets, lengths, size)


def _parse(index_path: str, data_path: str, text: bytes) -> tuple[array[int], array[int]]:
    """The (offsets, lengths) of an index file's text; MalformedIndex names the bad line."""
    tokens = text.split()
    try:
        numbers = array("q", map(int, tokens))
    except (ValueError, OverflowError):
        numbers = None
    lines = text.splitlines()
    if numbers is None or len(tokens) != 2 * (len(lines) - lines.count(b"")):
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if fields and (len(fields) != 2 or not all(f.isdigit() for f in fields)):
                raise MalformedIndex(
                    index_path,
                    data_path,
                    f"line {number} is {line[:60]!r}, not '<offset> <length>' in decimal",
                )
        raise MalformedIndex(index_path, data_path, "it is not lines of '<offset> <length>'")
    return numbers[0::2], numbers[1::2]


def _check_layout(
    index_path: str, data_path: str, offsets: array[int], lengths: array[int], size: int
) -> None:
    """Records must follow each other from byte 0, each at least its framing long, and end
    where the file does."""
    ends = array("q", accumulate(lengths, initial=0))
    if offsets != ends[:-1] or (lengths and min(lengths) < RECORD_OVERHEAD):
        for number, (offset, length) in enumerate(zip(offsets, lengths, strict=True), start=1):
            if length < RECORD_OVERHEAD:
                detail = f"line {number} gives a length of {length}, less than a record's framing"
            elif offset != ends[number - 1]:
                detail = (
                    f"line {number} puts a record at byte {offset}, but the record before "
                    f"ends at byte {ends[number - 1]}"
                )
            else:
                continue
            raise MalformedIndex(index_path, data_path, detail)
    if ends[-1] != size:
        raise StaleIndex(
            index_path,
            data_path,
            f"it describes {len(offsets)} record{'' if len(offsets) == 1 else 's'} ending at "
            f"byte {ends[-1]}, but {data_path} "
            f"has {size} bytes: the file changed after the index was written",
        )


def read_index(
    data_path: str | os.PathLike[str], index_path: str | os.PathLike[str] | None = None
) -> FileIndex:
    """The index of ``data_path`` read from its index file (default: beside it), checked
    against the file without reading the file: records laid end to end from byte 0 and ending
    where the file ends. :class:`StaleIndex` when the file's size no longer matches,
    :class:`MalformedIndex` for anything else wrong; :class:`NotIndexable` for a compressed
    file; ``FileNotFoundError`` when either file is missing.
    """
    data = os.fspath(data_path)
    # ``index_path``, the argument, hides the function of that name here.
    where = names.index_path(data) if index_path is None else os.fspath(index_path)
    with open(data, "rb") as file:
        _refuse_compressed(data, file.read(_HEADER))
        size = os.fstat(file.fileno()).st_size
    with open(where, "rb") as file:
        text = file.read()
    offsets, lengths = _parse(where, data, text)
    _check_layout(where, data, offsets, lengths, size)
    return FileIndex(data, offsets, lengths, size, where)


def check_index(
    data_path: str | os.PathLike[str], index_path: str | os.PathLike[str] | None = None
) -> FileIndex:
    """Like :func:`read_index`, and also scans the file's record headers: every record must
    be where the index says and as long. Damage in the file raises its RecordError."""
    index = read_index(data_path, index_path)
    found = scan(index.path)
    if not index.same_records(found):
        # Both end where the file does, so they differ at some record both have.
        pairs = zip(index.offsets, index.lengths, found.offsets, found.lengths, strict=False)
        for number, (offset, length, real_offset, real_length) in enumerate(pairs, start=1):
            if offset != real_offset or length != real_length:
                raise StaleIndex(
                    index.index_path,
                    index.path,
                    f"line {number} gives a record of {length} bytes at byte {offset}, but "
                    f"the file has a record of {real_length} bytes at byte {real_offset}: "
                    "the file changed after the index was written",
                )
    return index


def load_index(data_path: str | os.PathLike[str], *, use_file: bool = True) -> FileIndex:
    """The index of ``data_path``: from its index file when there is one (and ``use_file``),
    else by a :func:`scan` of the file."""
    data = os.fspath(data_path)
    if use_file and os.path.exists(index_path(data)):
        return read_index(data)
    return scan(data)


class IndexWriter:
    """Writes the index of a TFRecord file as its records are written.

    Give it each record's ``(offset, length)`` in order, framing included: a
    :class:`~tfr.records.RecordWriter`'s ``bytes_written`` before a write is the offset and
    ``write``'s return value the length. The lines go to a temporary file beside the index;
    :meth:`finish`, called once the data file is complete under its final name, syncs it and
    gives it its name. Used as a context manager, it finishes on success and removes the
    temporary file on any error.
    """

    def __init__(self, data_path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.data_path = os.fspath(data_path)
        self.overwrite = overwrite
        self.records = 0
        self.end = 0  # where the next record must start
        if not overwrite and os.path.lexists(index_path(self.data_path)):
            raise OutputExists(index_path(self.data_path))
        self._temporary: str | None
        self._file: BinaryIO | None
        self._temporary, self._file = open_temporary(index_path(self.data_path))

    def add(self, offset: int, length: int) -> None:
        """The next record: ``length`` bytes, framing included, at byte ``offset``."""
        if self._file is None:
            raise ValueError("this index is already finished")
        if offset != self.end or length < RECORD_OVERHEAD:
            raise ValueError(
                f"record {self.records}: ({offset}, {length}) does not follow the record "
                f"before, which ends at byte {self.end}"
            )
        self._file.write(b"%d %d\n" % (offset, length))
        self.records += 1
        self.end = offset + length

    def finish(self, data_path: str | os.PathLike[str] | None = None) -> str:
        """Publish the index beside the data file, now complete; returns the index's path.

        ``data_path`` is the data file's final name when it was renamed since (a shard whose
        total was not known): it must be in the same folder.
        """
        if self._file is None or self._temporary is None:
            raise ValueError("this index is already finished")
        final = self.data_path if data_path is None else os.fspath(data_path)
        if os.path.dirname(os.path.abspath(final)) != os.path.dirname(
            os.path.abspath(self.data_path)
        ):
            raise ValueError(f"{final} is not in the folder of {self.data_path}")
        path = index_path(final)
        try:
            size = os.path.getsize(final)
            if size != self.end:
                raise StaleIndex(
                    None, final, f"it has {size} bytes, but its records end at byte {self.end}"
                )
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            if not self.overwrite and os.path.lexists(path):
                raise OutputExists(path)
            publish(self._temporary, path, overwrite=self.overwrite)
        finally:
            self.discard()
        fsync_folder(os.path.dirname(os.path.abspath(path)))
        return path

    def discard(self) -> None:
        """Abandon the index: the temporary file is removed, nothing is published."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._temporary is not None:
            discard(self._temporary)
            self._temporary = None

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None and self._file is not None:
                self.finish()
        finally:
            self.discard()


def write_index(data_path: str | os.PathLike[str], *, overwrite: bool = False) -> FileIndex:
    """Index an existing plain TFRecord file by one :func:`scan` and write its index file
    beside it. An existing index is never replaced unless ``overwrite``
    (:class:`~tfr.errors.OutputExists`)."""
    data = os.fspath(data_path)
    if not overwrite and os.path.lexists(index_path(data)):
        raise OutputExists(index_path(data))
    found = scan(data)
    with IndexWriter(data, overwrite=overwrite) as writer:
        for offset, length in zip(found.offsets, found.lengths, strict=True):
            writer.add(offset, length)
    return FileIndex(data, found.offsets, found.lengths, found.size, index_path(data))
