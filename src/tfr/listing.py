"""Finding the images in a folder, in sorted order, and each one's class.

Files named as images are taken for images here, their content checked when they are read;
other files are sniffed by their first bytes, so an image is found whatever its name. Nothing
is read whole: the listing is cheap, and the plan is made from it before any image is read.

Links to files are followed (datasets are often built of them); links to folders are not,
so a walk cannot loop or leave the folder. Everything left out is accounted for: other files,
links to folders or to nothing, devices and pipes, folders that cannot be read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from tfr import images, storage
from tfr.filelist import Listed
from tfr.labels import class_of

__all__ = ["Found", "Listing", "list_folder", "list_named"]


class Found(NamedTuple):
    """An image found: where it is, its path relative to the folder, and its class."""

    path: str
    relative: str  # with "/" separators
    cls: str | None
    size: int | None = None  # known without a system call of its own in a store's listing
    label: int | None = None  # given by a list of images (--files-from), not by a label map


@dataclass
class Listing:
    """What a folder holds: images in sorted order, and what was left out and why."""

    images: list[Found] = field(default_factory=list)
    not_images: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # links, devices: (path, what)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    unclassified: list[str] = field(default_factory=list)  # not in a class folder


class _Walk:
    """A walk of a folder: its files, and what it passed over."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.left_out: list[tuple[str, str]] = []
        self.unreadable: list[tuple[str, str]] = []

    def files(self) -> Iterator[str]:
        yield from self._visit(self.src, "")

    def _visit(self, folder: str, prefix: str) -> Iterator[str]:
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            if folder == self.src:
                raise
            self.unreadable.append((folder, f"cannot read this folder: {exc.strerror or exc}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._visit(entry.path, f"{prefix}{entry.name}/")
                continue
            what = _not_a_file(entry)
            if what is None:
                yield prefix + entry.name
            else:
                self.left_out.append((entry.path, what))


def _not_a_file(entry: os.DirEntry[str]) -> str | None:
    """Why an entry is not a regular file to pack (None if it is one, through a link or not)."""
    if entry.is_file(follow_symlinks=False):
        return None  # known from the folder listing itself: no system call
    try:
        mode = entry.stat().st_mode  # follows a link
    except OSError as exc:
        if entry.is_symlink():
            return (
                "a link to nothing"
                if isinstance(exc, FileNotFoundError)
                else (f"a link that cannot be followed ({exc.strerror or exc})")
            )
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a link to a folder (not followed)"
    kind = "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"a link to {kind}" if entry.is_symlink() else kind


# os.open and os.read rather than open(): no file object to build.
def _sniff(path: str) -> str | None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        return images.sniff(os.read(fd, images.SNIFF_BYTES))
    finally:
        os.close(fd)


def list_folder(src: str, label_from: str) -> Listing:
    """The images under ``src`` (a folder, or a URL of one) with their classes (see
    :func:`tfr.labels.class_of`)."""
    if storage.is_url(src):
        return _list_store(src, label_from)
    listing = Listing()
    walk = _Walk(src)
    for relative in walk.files():
        path = os.path.join(src, *relative.split("/"))
        _take(listing, path, relative, label_from, _sniff)
    listing.left_out = walk.left_out
    listing.unreadable += walk.unreadable
    return listing


def list_named(src: str, listed: list[Listed], label_from: str, name: str = "the list") -> Listing:
    """The images a list (called ``name``) names (:mod:`tfr.filelist`): paths relative to
    ``src``, or URLs, in the list's order. A class the list does not give comes from
    ``label_from``. A local file that is not there is named with the list's line."""
    listing = Listing()
    root = src.rstrip("/")
    for entry in listed:
        if storage.is_url(entry.path):
            path = entry.path
            inner = entry.path.split("://", 1)[1]
            relative = entry.path[len(root) + 1 :] if entry.path.startswith(root + "/") else inner
        else:
            relative = entry.path.replace(os.sep, "/").lstrip("/")
            path = storage.join(src, *relative.split("/"))
            if not storage.is_url(path) and not os.path.isfile(path):
                why = "no such file" if not os.path.lexists(path) else "not a regular file"
                listing.unreadable.append((path, f"{name}, line {entry.line}: {why}"))
                continue
        cls = entry.cls if entry.cls is not None else class_of(relative, label_from)
        if cls is None and entry.label is None and label_from in ("dir", "parent"):
            listing.unclassified.append(path)
            continue
        listing.images.append(Found(path, relative, cls, None, entry.label))
    return listing


def _list_store(src: str, label_from: str) -> Listing:
    """A folder in an object store: one listing request per thousand files, with sizes; files
    not named as images are sniffed by reading their first bytes."""
    listing = Listing()
    for path, relative, size in storage.list_files(src):
        if not any(part.startswith(".") for part in relative.split("/")):
            _take(listing, path, relative, label_from, _sniff_stored, size)
    return listing


def _take(
    listing: Listing,
    path: str,
    relative: str,
    label_from: str,
    sniff: Callable[[str], str | None],
    size: int | None = None,
) -> None:
    """List one file of a walk: an image with its class, or what else it is."""
    # A file named as an image is taken for one now and its content checked when it is read
    # (it is refused then if it is none): opening every file twice cost 6 us each.
    if os.path.splitext(relative)[1].lower() not in images.IMAGE_SUFFIXES:
        try:
            kind = sniff(path)
        except OSError as exc:
            listing.unreadable.append((path, f"cannot read it: {exc.strerror or exc}"))
            return
        if kind is None:
            listing.not_images.append(path)
            return
    cls = class_of(relative, label_from)
    if label_from in ("dir", "parent") and cls is None:
        listing.unclassified.append(path)
        return
    listing.images.append(Found(path, relative, cls, size))


def _sniff_stored(path: str) -> str | None:
    return images.sniff(storage.read_range(path, 0, images.SNIFF_BYTES))
