"""TFRecord framing: write and read length-prefixed, CRC-checked records, plain or compressed.

A record is ``length (u64 LE) | masked CRC-32C of length | payload | masked CRC-32C of payload``.
GZIP and ZLIB wrap the whole stream, not each record, exactly as TensorFlow's
``TFRecordOptions(compression_type=...)`` does.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.machinery
import importlib.util
import io
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from tfr.errors import RecordError, RecordTooLarge, UsageError

__all__ = [
    "COMPRESSIONS",
    "MAX_RECORD_BYTES",
    "BufferedViews",
    "Record",
    "RecordWriter",
    "crc32c",
    "detect_compression",
    "frame",
    "iter_records",
    "iter_stream",
    "masked_crc",
    "normalise_compression",
    "open_stream",
    "read_records",
]

COMPRESSIONS = ("gzip", "zlib")
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_HEADER_SIZE = 12
_FOOTER_SIZE = 4
_MASK_DELTA = 0xA282EAD8
# A record longer than this is refused before any memory is taken for it, unless the reader
# is given a higher limit: a length field is untrusted input. TFDS aims at shards of 128 MiB or
# more, and an image record is rarely over a few MB, so a legitimate record this long is rare.
MAX_RECORD_BYTES = 256 << 20
# Reading a compressed stream, a payload is gathered in pieces of this size, so a length field
# that lies can never make us allocate more than the stream really holds (plus one piece).
_CHUNK = 16 << 20

_STEP = 1 << 20
# A plain file read for views is read in pieces of this size.
_VIEW_PIECE = 8 << 20

Buffer = bytes | bytearray | memoryview


def _load_crc32c() -> Callable[..., int]:
    """The ``crc32c`` package's C function, loaded from its extension module alone.

    The package's ``__init__`` asks ``importlib.metadata`` for its own version, which takes
    about 25 ms on every start, a quarter of ours; the extension alone loads in under 1 ms.
    Anything unexpected (another layout, a pure-Python build) falls back to the plain import.
    """
    try:
        package = importlib.util.find_spec("crc32c")
        folders = package.submodule_search_locations if package else None
        if folders:
            finder = importlib.machinery.FileFinder(
                folders[0],
                (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
            )
            spec = finder.find_spec("crc32c._crc32c")
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return cast("Callable[..., int]", module.crc32c)
    except (ImportError, OSError, AttributeError):
        pass
    import crc32c

    return crc32c.crc32c


_crc32c = _load_crc32c()


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def crc32c(data: Buffer, value: int = 0) -> int:
    """The CRC-32C of ``data`` (continuing from ``value``), unmasked."""
    return _crc32c(data, value=value)


def masked_crc(data: Buffer) -> int:
    """TensorFlow's masked CRC-32C of ``data``."""
    return _mask(_crc32c(data))


def frame(payload: bytes | bytearray | memoryview) -> tuple[bytes, bytes]:
    """The header and footer that enclose ``payload`` in a record."""
    length = _LENGTH.pack(len(payload))
    return length + _CRC.pack(masked_crc(length)), _CRC.pack(masked_crc(payload))


def normalise_compression(compression: str | None) -> str | None:
    """``"gzip"`` or ``"zlib"`` (any case), or None for none (``None``, ``""``, ``"none"``);
    anything else is a usage error."""
    if compression is None or compression.lower() in ("", "none"):
        return None
    lowered = compression.lower()
    if lowered not in COMPRESSIONS:
        raise UsageError(f"unknown compression {compression!r}: use gzip, zlib or none")
    return lowered


class _ZlibWriter:
    """A write-only file that deflates into a zlib stream (header and Adler-32 included)."""

    def __init__(self, raw: BinaryIO, level: int) -> None:
        self._raw = raw
        self._deflate = zlib.compressobj(level)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._raw.write(self._deflate.compress(data))
        return len(data)

    def close(self) -> None:
        self._raw.write(self._deflate.flush())


class RecordWriter:
    """Writes records to a binary file object, optionally through GZIP or ZLIB.

    The writer does not close the file it was given; ``close()`` finishes the compressed
    stream. ``bytes_written`` counts the uncompressed stream.
    """

    def __init__(
        self, file: BinaryIO, compression: str | None = None, level: int | None = None
    ) -> None:
        self.compression = normalise_compression(compression)
        self.records = 0
        self.bytes_written = 0
        level = 6 if level is None else level
        self._sink: BinaryIO | gzip.GzipFile | _ZlibWriter
        if self.compression == "gzip":
            # No file name and mtime 0 in the gzip header: the same records give the same bytes.
            self._sink = gzip.GzipFile(
                filename="", mode="wb", fileobj=file, compresslevel=level, mtime=0
            )
        elif self.compression == "zlib":
            self._sink = _ZlibWriter(file, level)
        else:
            self._sink = file

    def write(self, payload: Buffer | Sequence[Buffer]) -> int:
        """Append one record; returns the bytes it takes in the uncompressed stream.

        ``payload`` may come in pieces (a list or tuple of byte strings), written one after
        the other without being joined, so large payloads are never copied.
        """
        parts = payload if isinstance(payload, (list, tuple)) else (payload,)
        length = sum(map(len, parts))
        crc = 0
        for part in parts:
            crc = _crc32c(part, value=crc)
        length_bytes = _LENGTH.pack(length)
        sink = self._sink
        sink.write(length_bytes + _CRC.pack(masked_crc(length_bytes)))
        for part in parts:
            sink.write(part)
        sink.write(_CRC.pack(_mask(crc)))
        size = length + _HEADER_SIZE + _FOOTER_SIZE
        self.records += 1
        self.bytes_written += size
        return size

    def close(self) -> None:
        if self._sink is not None and self.compression is not None:
            self._sink.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Record:
    """One record read from a file: where it was and what it held."""

    path: str
    index: int
    offset: int  # in the uncompressed stream
    # bytes; a bytearray for a large record of a compressed file; a read-only memoryview from
    # a reader asked for views (tfr.reading.Reader)
    data: Buffer


def _valid_header(head: bytes) -> bool:
    return len(head) >= _HEADER_SIZE and masked_crc(head[:8]) == _CRC.unpack_from(head, 8)[0]


def detect_compression(head: bytes) -> str | None:
    """Guess the compression of a file from its first bytes: ``"gzip"``, ``"zlib"`` or None.

    A valid record header wins, because a plain file's first length byte may look like zlib.
    """
    if not head or _valid_header(head):
        return None
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"
    return None


# zlib's window bits: 31 reads one gzip member, 15 one zlib stream, each checked against its
# trailer (CRC-32 and length, or Adler-32), as TensorFlow's reader sets them.
_WINDOW_BITS = {"gzip": 31, "zlib": 15}
_INFLATE_IN = 1 << 17  # compressed bytes read at a time
_INFLATE_OUT = 1 << 18  # the most inflated bytes held at once
_PREVIEW = 8  # bytes after the end of a stream shown in its error
# zlib's words for damage, and plain ones for a user who never called zlib
_ZLIB_WORDS = {
    ("gzip", "incorrect header check"): "not a gzipped file: it does not start with 1f 8b",
    ("zlib", "incorrect header check"): "not a zlib stream: it does not start with a zlib header",
    ("gzip", "incorrect data check"): "CRC check failed: the CRC-32 in the gzip trailer does "
    "not match the content",
    ("zlib", "incorrect data check"): "Adler-32 check failed: the checksum that ends the zlib "
    "stream does not match the content",
    ("gzip", "incorrect length check"): "length check failed: the length in the gzip trailer "
    "does not match the content",
}


class _TrailingBytes(ValueError):
    """Bytes after the end of a compressed stream that are not part of it."""


class _InflateReader(io.RawIOBase):
    """The inflated bytes of a GZIP or ZLIB file, a piece at a time, whole or refused.

    A GZIP file may hold several gzip members one after the other (``cat a.gz b.gz``):
    TensorFlow reads them as one stream, and so does this. Anything else after the end is
    refused (:class:`_TrailingBytes`), where Python's ``gzip`` skips zero padding that
    TensorFlow fails on. A ZLIB file is one stream; bytes after it are refused too, as
    TensorFlow ignores them and whatever they held would be lost without a word.

    An error is raised only once every byte inflated before it has been read.
    """

    def __init__(self, raw: BinaryIO, kind: str, size: int | None = None) -> None:
        self._raw = raw
        self._kind = kind
        self._size = size  # of the file, to say how many bytes follow the stream
        self._inflate = zlib.decompressobj(_WINDOW_BITS[kind])
        self._input = b""  # read from the file, not yet given to the inflater
        self._read = 0  # bytes read from the file
        self._member = 0  # the byte of the file where the current gzip member starts
        self._head = b""  # the current member's first bytes
        self._inflated = False  # the current member gave bytes
        self._pending = memoryview(b"")
        self._end: Exception | None = None  # raised once the bytes before it are read
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self._end is not None:
                raise self._end
            if self._done:
                return 0
            self._pending = memoryview(self._more())
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _more(self) -> bytes:
        inflate = self._inflate
        data = inflate.unconsumed_tail or self._input
        self._input = b""
        if not data:
            data = self._raw.read(_INFLATE_IN)
            self._read += len(data)
            if not data:
                self._end_of_file()
                return b""
        if not self._head:
            self._head = data[:_PREVIEW]
        try:
            out = inflate.decompress(data, _INFLATE_OUT)
        except zlib.error as exc:
            if self._member and not self._inflated:
                raise self._trailing(self._member, self._head) from None
            words = str(exc).rpartition(": ")[2]
            raise zlib.error(_ZLIB_WORDS.get((self._kind, words), words)) from None
        if out:
            self._inflated = True
        if inflate.eof:
            self._stream_end(inflate.unused_data)
        return out

    def _stream_end(self, rest: bytes) -> None:
        end = self._read - len(rest)  # where the stream, or this gzip member, ends in the file
        if self._kind == "gzip":  # another member may follow
            self._inflate = zlib.decompressobj(_WINDOW_BITS["gzip"])
            self._input, self._member, self._head, self._inflated = rest, end, b"", False
            return
        if not rest:
            rest = self._raw.read(_PREVIEW)
            self._read += len(rest)
        if rest:
            self._end = self._trailing(end, rest)
        else:
            self._done = True

    def _end_of_file(self) -> None:
        if not self._head:  # nothing after the last gzip member: the file is whole
            self._done = True
        elif self._member and not self._inflated:
            raise self._trailing(self._member, self._head)
        else:
            raise EOFError(f"the {self._kind.upper()} stream ends before its end marker")

    def _trailing(self, end: int, head: bytes) -> _TrailingBytes:
        left = None if self._size is None else self._size - end
        many = "more bytes" if left is None else f"{left:,} byte" + ("s" if left != 1 else "")
        cut = left is None or left > _PREVIEW
        what = f"{many} ({head[:_PREVIEW].hex(' ')}{' ...' if cut else ''})"
        if self._kind == "gzip":
            return _TrailingBytes(
                f"the GZIP stream ends at byte {end:,} of the file, and what follows is not a "
                f"gzip member: {what}"
            )
        return _TrailingBytes(
            f"the ZLIB stream ends at byte {end:,} of the file, and what follows is not part "
            f"of it: {what}, which TensorFlow ignores"
        )


_STREAM_ERRORS = (OSError, EOFError, zlib.error, _TrailingBytes)


def _read_exact(stream: BinaryIO, size: int) -> Buffer:
    """Up to ``size`` bytes; fewer only at the end of the stream. A large payload is read into
    one buffer of its size, never gathered in pieces and joined (which would hold it twice)."""
    if size <= _CHUNK:
        return stream.read(size)
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        # Small steps: gzip's readinto decompresses a step into a buffer of its own first.
        got = stream.readinto(view[done : done + _STEP])  # type: ignore[attr-defined]
        if not got:
            return view[:done]
        done += got
    return buffer


class BufferedViews:
    """A plain file read in large pieces, whose ``read`` returns views of them, not copies.

    What a memory map gives, without its danger: a file truncated by another process while it
    is read gives a short read (reported as a cut record), where a map gives SIGBUS. A view
    keeps its piece alive as long as it is referenced.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buffer = memoryview(b"")
        self._position = 0

    def read(self, size: int) -> Buffer:
        if self._position == len(self._buffer):
            self._buffer = memoryview(self._raw.read(_VIEW_PIECE))
            self._position = 0
        start, end = self._position, self._position + size
        if end <= len(self._buffer):
            self._position = end
            return self._buffer[start:end]
        # The request runs past this piece: serve it from the rest plus a read of its own; the
        # next read starts a new piece.
        rest = self._buffer[start:]
        self._buffer, self._position = memoryview(b""), 0
        buffer = bytearray(size)
        buffer[: len(rest)] = rest
        got = len(rest) + _read_into(self._raw, memoryview(buffer)[len(rest) :])
        return buffer if got == size else memoryview(buffer)[:got]


def _read_into(raw: BinaryIO, view: memoryview) -> int:
    done = 0
    while done < len(view):
        got = raw.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            break
        done += got
    return done


# Reading a file from an object store, each request waits 20-50 ms: read ahead in large blocks.
_REMOTE_BLOCK = 32 << 20


@contextlib.contextmanager
def open_stream(
    path: str, compression: str | None = "auto", *, views: bool = False
) -> Iterator[tuple[BinaryIO, str | None, int]]:
    """Open a TFRecord file (a path or a URL): ``(stream of its records, compression, size on
    disk)``, the compression decided from the content when ``"auto"``. With ``views``, a plain
    file's stream returns views of large pieces read at once (:class:`BufferedViews`)."""
    from tfr import storage

    if storage.is_url(path):
        fs, inner = storage.filesystem(path)
        raw = fs.open(inner, "rb", block_size=_REMOTE_BLOCK, cache_type="readahead")
        size = int(raw.size)
    else:
        raw = open(storage.local_path(path), "rb", buffering=0)  # noqa: SIM115 (closed below)
        if not raw.seekable():  # a pipe: tfr inspect <(zcat x.gz)
            raw = _spooled(raw)
        size = os.fstat(raw.fileno()).st_size
    with raw:
        head = raw.read(_HEADER_SIZE)
        raw.seek(0)
        kind = (
            detect_compression(head)
            if compression == "auto"
            else normalise_compression(compression)
        )
        stream: Any
        if kind is not None:
            stream = io.BufferedReader(_InflateReader(raw, kind, size), _INFLATE_OUT)
        elif views:
            stream = BufferedViews(raw)
        else:
            stream = io.BufferedReader(raw, 1 << 16)
        try:
            yield stream, kind, size
        finally:
            if not isinstance(stream, BufferedViews):
                stream.close()  # before the file under it, which closing it may still read


def _spooled(pipe: BinaryIO) -> BinaryIO:
    """A pipe's bytes, copied to an unnamed temporary file (on disk, not in memory) that can
    be read from its start again and whose size is known, as a file's is."""
    import shutil
    import tempfile

    with pipe:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
        try:
            shutil.copyfileobj(pipe, spool, 1 << 20)
            spool.flush()
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
    return spool


def iter_records(
    path: str | os.PathLike[str],
    *,
    compression: str | None = "auto",
    check_crc: bool = True,
    on_corrupt: Callable[[RecordError], None] | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """Iterate over the records of one file, checking every CRC.

    ``compression`` is ``"auto"`` (decided from the content), None, ``"gzip"`` or ``"zlib"``.
    Damage raises :class:`RecordError`, unless ``on_corrupt`` is given: then it is called with
    the error and reading goes on where it can (a payload with a bad CRC is skipped; a bad
    length or a cut file ends this file). A length over ``max_record_bytes`` is refused
    (:class:`~tfr.errors.RecordTooLarge`) before any memory is taken for it.
    """
    name = os.fspath(path)
    with open_stream(name, compression) as (stream, kind, size):
        # Only a plain file knows its size up front; a compressed one is read in pieces instead.
        known = size if kind is None else None
        yield from iter_stream(stream, name, kind, known, check_crc, on_corrupt, max_record_bytes)


def iter_stream(
    stream: BinaryIO,
    name: str,
    kind: str | None,
    size: int | None,
    check_crc: bool,
    on_corrupt: Callable[[RecordError], None] | None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """The records of an open, already decompressed stream (see :func:`iter_records`).

    ``name`` and ``kind`` (the compression) go into error messages; ``size`` is the stream's
    length when known, so a length field that overruns it is caught before any allocation.
    """
    within = f" (inside the {kind.upper()} stream)" if kind else ""
    index = offset = 0

    def damage(what: str, detail: str) -> RecordError:
        return RecordError.of_kind(what, name, index, offset, detail + within)

    def bad_header(what: str, detail: str) -> RecordError:
        # A first header that makes no sense means the file was never a TFRecord file.
        if offset == 0:
            return damage("not_tfrecord", detail + "; this is not a TFRecord file")
        return damage(what, detail)

    while True:
        try:
            header = stream.read(_HEADER_SIZE)
            if not header:
                return
            error = None
            if len(header) < _HEADER_SIZE:
                error = bad_header(
                    "truncated", f"the file ends inside a record header ({len(header)} of 12 bytes)"
                )
            elif check_crc and not _valid_header(header):
                error = bad_header("corrupt", "the length field's CRC does not match")
            if error is not None:
                _report(error, on_corrupt)
                return
            (length,) = _LENGTH.unpack_from(header)
            needed = length + _FOOTER_SIZE
            if size is not None and offset + _HEADER_SIZE + needed > size:
                _report(
                    damage(
                        "truncated",
                        f"the file ends inside the record: it claims {length} bytes and a "
                        f"4-byte CRC, only {size - offset - _HEADER_SIZE} bytes follow its header",
                    ),
                    on_corrupt,
                )
                return
            # A plain file's size tells a cut file from a long record; only then the limit.
            if length > max_record_bytes:
                _report(
                    RecordTooLarge(
                        name,
                        index,
                        offset,
                        f"its length field claims {length:,} bytes, more than the limit of "
                        f"{max_record_bytes:,}{within}",
                        length=length,
                        limit=max_record_bytes,
                    ),
                    on_corrupt,
                )
                return
            payload = _read_exact(stream, length)
            footer = stream.read(_FOOTER_SIZE)
        except _STREAM_ERRORS as exc:
            if isinstance(exc, _TrailingBytes):  # says itself where, in the file's own bytes
                error = RecordError.of_kind("corrupt", name, index, offset, str(exc))
            else:
                error = damage(
                    # A failed check of the stream's trailer is damage, not a cut.
                    "corrupt" if isinstance(exc, zlib.error) else "truncated",
                    f"the compressed stream is damaged: {exc}",
                )
            _report(error, on_corrupt)
            return
        if len(payload) < length or len(footer) < _FOOTER_SIZE:
            got = len(payload) + len(footer)
            _report(
                damage(
                    "truncated",
                    f"the file ends inside the record (needs {needed} "
                    f"bytes after the header, has {got})",
                ),
                on_corrupt,
            )
            return
        if check_crc and masked_crc(payload) != _CRC.unpack(footer)[0]:
            _report(damage("corrupt", "the payload's CRC does not match"), on_corrupt)
        else:
            yield Record(name, index, offset, payload)
        index += 1
        offset += _HEADER_SIZE + needed


def _report(error: RecordError, on_corrupt: Callable[[RecordError], None] | None) -> None:
    if on_corrupt is None:
        raise error
    on_corrupt(error)


def read_records(
    paths: Iterable[str | os.PathLike[str]],
    *,
    compression: str | None = "auto",
    check_crc: bool = True,
    on_corrupt: Callable[[RecordError], None] | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Record]:
    """Iterate over the records of several files in turn (see :func:`iter_records`)."""
    for path in paths:
        yield from iter_records(
            path,
            compression=compression,
            check_crc=check_crc,
            on_corrupt=on_corrupt,
            max_record_bytes=max_record_bytes,
        )
