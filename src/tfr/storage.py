"""Where files live: a local path, or a URL of any store fsspec reaches.

``gs://``, ``s3://``, ``az://``, ``hf://``, ``http(s)://``, ``memory://`` and the rest: fsspec and
the store's own package (``pip install 'tfrkit[s3]'`` ...) are imported only when a URL is met,
so local paths keep their fast path and import nothing new. Credentials and endpoints follow
each package's own conventions (environment variables such as ``AWS_ENDPOINT_URL``, config
files), and :func:`configure` sets fsspec's per-protocol options, as ``--storage-options``
does.

The functions here take a path or a URL alike and do the same thing with either; a URL keeps
its ``scheme://`` in every path they return.
"""

from __future__ import annotations

import glob as _glob
import os
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from tfr.errors import UsageError

__all__ = [
    "IO_WORKERS",
    "allow_connections",
    "configure",
    "exists",
    "filesystem",
    "glob",
    "io_workers",
    "is_url",
    "isdir",
    "isfile",
    "list_files",
    "open_read",
    "protocol_of",
    "read_bytes",
    "read_range",
    "size",
]

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# The extra that brings each store's package, for the message when it is missing.
_EXTRAS = {"gs": "gcs", "gcs": "gcs", "s3": "s3", "s3a": "s3", "az": "azure", "abfs": "azure"}


def protocol_of(path: str) -> str | None:
    """``"s3"`` for ``s3://b/k``; None for a local path (``file://`` URLs are local too)."""
    found = _URL.match(path)
    if found is None or found.group(1).lower() in ("file", "local"):
        return None
    return found.group(1).lower()


def is_url(path: str | os.PathLike[str]) -> bool:
    return isinstance(path, str) and protocol_of(path) is not None


def local_path(path: str) -> str:
    """``file:///x`` -> ``/x``; any other path as it is."""
    return path[len("file://") :] if path.lower().startswith("file://") else path


# Connections a store's client may keep open, for the stores whose client pools them (s3fs,
# through botocore, keeps 10 unless told): at least as many as the requests in flight. With
# 10, 32 requests in flight waited for one another: 1,000 images behind 50 ms of latency
# packed in 12.1 s, and in 7.1 s with 64 connections (benchmarks/REMOTE.md).
_POOLED = ("s3", "s3a")
_connections = 64
_pool_given: set[str] = set()  # protocols whose pool size the user's options set
# Requests in flight to an object store by default: each waits 20-50 ms there.
IO_WORKERS = 32


def io_workers(asked: int | None) -> int:
    """The requests to keep in flight to a store (``--io-workers``, else :data:`IO_WORKERS`),
    with as many connections allowed."""
    workers = asked or IO_WORKERS
    allow_connections(workers)
    return workers


def allow_connections(count: int) -> None:
    """Let a store's client keep ``count`` connections open (``--io-workers`` above 64)."""
    global _connections
    _connections = max(_connections, count)


def _pool(protocol: str | None) -> None:
    if protocol not in _POOLED or protocol in _pool_given:
        return
    import fsspec.config

    config = fsspec.config.conf.setdefault(protocol, {}).setdefault("config_kwargs", {})
    config["max_pool_connections"] = _connections


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path within it."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise UsageError(_missing(url, "fsspec")) from None
    _pool(protocol_of(url))
    try:
        fs, inner = url_to_fs(url)
        return fs, str(inner)
    except ImportError as exc:
        raise UsageError(_missing(url, exc.name or "its package")) from None
    except ValueError as exc:  # an unknown protocol
        raise UsageError(f"{url}: {exc}") from None


def _missing(url: str, package: str) -> str:
    protocol = protocol_of(url) or ""
    extra = _EXTRAS.get(protocol)
    how = (
        f"pip install 'tfrkit[{extra}]'" if extra else f"install fsspec's package for {protocol}://"
    )
    return f"{url}: reading and writing {protocol}:// needs {package}: {how}"


def configure(options: Mapping[str, Any], protocols: Iterable[str]) -> None:
    """Set fsspec's options for filesystems made from now on (``endpoint_url``, ``anon``, ...).

    ``options`` apply to each of ``protocols``, or, written ``{"s3": {...}, "gs": {...}}``,
    each to its own protocol.
    """
    import fsspec.config

    known = set(protocols)
    nested = bool(options) and all(
        isinstance(value, dict) and key in _known_protocols() for key, value in options.items()
    )
    per_protocol = options if nested else {protocol: options for protocol in known}
    for protocol, values in per_protocol.items():
        fsspec.config.conf.setdefault(protocol, {}).update(values)
        if "max_pool_connections" in (values.get("config_kwargs") or {}):
            _pool_given.add(protocol)


def _known_protocols() -> set[str]:
    from fsspec.registry import known_implementations

    return set(known_implementations)


def _full(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


# --- questions about paths -------------------------------------------------------------------


def exists(path: str) -> bool:
    if not is_url(path):
        return os.path.exists(local_path(path))
    fs, inner = filesystem(path)
    return bool(fs.exists(inner))


def lexists(path: str) -> bool:
    if not is_url(path):
        return os.path.lexists(local_path(path))
    return exists(path)


def isdir(path: str) -> bool:
    if not is_url(path):
        return os.path.isdir(local_path(path))
    fs, inner = filesystem(path)
    return bool(fs.isdir(inner))


def isfile(path: str) -> bool:
    if not is_url(path):
        return os.path.isfile(local_path(path))
    fs, inner = filesystem(path)
    return bool(fs.isfile(inner))


def size(path: str) -> int:
    if not is_url(path):
        return os.path.getsize(local_path(path))
    fs, inner = filesystem(path)
    return int(fs.size(inner))


def glob(pattern: str) -> list[str]:
    """The files (not folders) matching ``pattern``, sorted."""
    if not is_url(pattern):
        return sorted(m for m in _glob.glob(local_path(pattern)) if os.path.isfile(m))
    fs, inner = filesystem(pattern)
    found = fs.glob(inner, detail=True)
    return sorted(_full(fs, name) for name, info in found.items() if info.get("type") == "file")


def join(folder: str, *parts: str) -> str:
    return posixpath.join(folder, *parts) if is_url(folder) else os.path.join(folder, *parts)


# --- reading ----------------------------------------------------------------------------------


def open_read(path: str) -> BinaryIO:
    """A file object reading ``path`` from its start."""
    if not is_url(path):
        return open(local_path(path), "rb", buffering=0)
    fs, inner = filesystem(path)
    return fs.open(inner, "rb")  # type: ignore[no-any-return]


def read_bytes(path: str) -> bytes:
    if not is_url(path):
        with open(local_path(path), "rb") as file:
            return file.read()
    fs, inner = filesystem(path)
    return bytes(fs.cat_file(inner))


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of a file in a store (one ranged request)."""
    fs, inner = filesystem(path)
    return bytes(fs.cat_file(inner, start=start, end=end))


def list_files(root: str) -> Iterator[tuple[str, str, int]]:
    """Every file under the folder (or prefix) ``root`` as ``(full path, path relative to root
    with "/", size)``, sorted by relative path. Only for URLs: local folders are walked by
    :mod:`tfr.listing` itself."""
    fs, inner = filesystem(root)
    inner = inner.rstrip("/")
    found = fs.find(inner, detail=True)
    entries = []
    for name, info in found.items():
        if info.get("type", "file") != "file" or not name.startswith(inner + "/"):
            continue
        entries.append((name[len(inner) + 1 :], name, int(info.get("size") or 0)))
    for relative, name, length in sorted(entries):
        yield _full(fs, name), relative, length
