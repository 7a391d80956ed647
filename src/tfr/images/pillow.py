"""Pillow, opened with the one plugin the bytes call for, quietly and within a pixel limit.

Pillow is imported only when pixels are needed: it slows every start-up.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from PIL import Image

from tfr.errors import ImageError, ImageTooLarge, UnsupportedImage
from tfr.images.formats import PILLOW_IDS, PILLOW_ONLY, name_of
from tfr.images.info import damaged
from tfr.images.png import as_libpng_reads

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "check_pixels",
    "decoded",
    "identify",
    "open_image",
    "pillow_errors",
    "quiet",
    "reading",
    "warned",
]


DEFAULT_MAX_PIXELS = 178_956_970
"""The most pixels (width x height) `verify` and `reencode` decode unless told otherwise: the
size from which Pillow, as shipped, refuses an image as a possible decompression bomb (twice
its ``Image.MAX_IMAGE_PIXELS``). A 13,000 x 13,000 photo is under it; decoding it takes up
to 700 MB as RGBA."""


# What Pillow raises for a file it cannot read: its own errors are OSError and SyntaxError, some
# plugins let a short or inconsistent header through as one of the others, and the AVIF plugin
# reports bad data as RuntimeError.
def pillow_errors() -> tuple[type[BaseException], ...]:
    return (OSError, RuntimeError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


# --- warnings -------------------------------------------------------------------------------
#
# Pillow reports what it skips in a damaged file with warnings.warn (43 lines for one TIFF with
# broken tags), which would reach the terminal, or raise under -W error. The usual cure,
# warnings.catch_warnings(), swaps the process-wide filter list and puts it back on exit: two
# threads decoding at once (pack decodes on a pool of threads) restore each other's lists and
# lose or leak warnings. Python 3.10-3.13 have no per-thread warning filters, so tfr keeps one
# filter of its own at the front of the list, whose message pattern asks a thread-local: it
# matches (and records) every warning raised in a thread that is inside `quiet`, and nothing
# raised anywhere else. The warnings machinery only ever calls a filter pattern's match(), so
# an object with that one method serves. Installing the filter is the one shared write, done
# under a lock; it stays in place, inert for every other thread.


class _QuietThreads:
    """The message pattern of tfr's warnings filter: it matches in threads inside `quiet`."""

    def match(self, text: str) -> bool:
        log: list[str] | None = getattr(_quiet, "log", None)
        if log is None:
            return False
        log.append(text)
        return True


_quiet = threading.local()
_FILTER: Any = ("ignore", _QuietThreads(), Warning, None, 0)
_filter_lock = threading.Lock()


def _install_filter() -> None:
    # Someone else's filters (a caller's catch_warnings, pytest's per test) may have replaced
    # the list or gone in front: put ours back in front.
    if warnings.filters and warnings.filters[0] is _FILTER:
        return
    with _filter_lock:
        filters = cast("list[Any]", warnings.filters)
        if filters and filters[0] is _FILTER:
            return
        while _FILTER in filters:
            filters.remove(_FILTER)
        filters.insert(0, _FILTER)
        # Python's per-module registries of warnings already shown are keyed to the filters'
        # version; moving the version on lets ours see those warnings too.
        mutated = getattr(warnings, "_filters_mutated", None)
        if mutated is not None:
            mutated()


@contextmanager
def quiet() -> Iterator[list[str]]:
    """Runs the block with every warning this thread raises recorded in the list it yields,
    neither shown nor raised. Other threads' warnings are untouched."""
    _install_filter()
    outer: list[str] | None = getattr(_quiet, "log", None)
    log: list[str] = []
    _quiet.log = log
    try:
        yield log
    finally:
        _quiet.log = outer
        if outer is not None:
            outer.extend(log)


def warned(messages: list[str]) -> tuple[str, ...]:
    """Pillow's warnings about a file as at most one phrase for `ImageInfo.tolerated`."""
    if not messages:
        return ()
    more = len(messages) - 1
    text = f"Pillow warned reading it: {messages[0].strip()}"
    if more:
        text += f" (and {more} more warning{'s' if more > 1 else ''})"
    return (text,)


# --- the pixel limit ------------------------------------------------------------------------


def check_pixels(fmt: str, width: int, height: int, max_pixels: int) -> None:
    """ImageTooLarge if a width x height image has more than ``max_pixels`` pixels."""
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLarge(
            f"too large to decode safely: {name_of(fmt)} of {width}x{height} pixels "
            f"({pixels:,}), more than the limit of {max_pixels:,}",
            size=pixels,
            limit=max_pixels,
            unit="pixels",
        )


# Pillow checks its own limit, the process-wide PIL.Image.MAX_IMAGE_PIXELS, inside some
# plugins (TIFF, WebP, GIF, ICO, MPO) as well as in Image.open. tfr opens files without
# Image.open and checks ``max_pixels`` itself, from the headers, before anything is decoded;
# when a caller allows more than Pillow does, Pillow's limit is raised to the caller's while
# such calls run, and put back when the last one ends. A caller who never allows more than
# Pillow's limit never sees it changed.
class _PillowLimit:
    """Pillow's limit, raised while calls that allow more than it are running."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0  # calls running with the limit raised
        self.saved: int | None = None  # the limit before the first of them
        self.raised_to: int | None = None

    @contextmanager
    def allowing(self, max_pixels: int) -> Iterator[None]:
        from PIL import Image

        with self.lock:
            before = self.saved if self.users else Image.MAX_IMAGE_PIXELS
            raising = before is not None and max_pixels > 2 * before
            if raising:
                if not self.users:
                    self.saved = before
                self.users += 1
                enough = -(-max_pixels // 2)  # Pillow refuses above twice its limit
                current = Image.MAX_IMAGE_PIXELS
                if current is not None and current < enough:
                    Image.MAX_IMAGE_PIXELS = self.raised_to = enough
        try:
            yield
        finally:
            if raising:
                with self.lock:
                    self.users -= 1
                    current = Image.MAX_IMAGE_PIXELS
                    if not self.users and current == self.raised_to:  # nobody changed it since
                        Image.MAX_IMAGE_PIXELS = self.saved


_pillow_limit = _PillowLimit()


@contextmanager
def reading(fmt: str, max_pixels: int) -> Iterator[list[str]]:
    """For a block that opens and decodes an image with Pillow: quietly (the warnings are in
    the list it yields), with Pillow allowing ``max_pixels``, and with Pillow's errors raised
    as tfr's (DamagedImage, ImageTooLarge)."""
    from PIL import Image

    with quiet() as log, _pillow_limit.allowing(max_pixels):
        try:
            yield log
        except ImageError:
            raise  # tfr's own, from the block: already worded
        except Image.DecompressionBombError as exc:
            # A size found while decoding (a GIF frame that grows the canvas): still too large.
            found = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = int(found.group(1)) if found else 0
            raise ImageTooLarge(
                f"too large to decode safely: {name_of(fmt)} that decodes to {pixels:,} "
                f"pixels, more than the limit of {max_pixels:,}",
                size=pixels,
                limit=max_pixels,
                unit="pixels",
            ) from exc
        except pillow_errors() as exc:
            raise damaged(name_of(fmt), f"its pixels cannot be decoded ({exc})") from exc


# --- opening --------------------------------------------------------------------------------


def decoded(
    data: bytes, fmt: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, fit: int | None = None
) -> Image.Image:
    """The image's first frame, decoded once its size is known to be within ``max_pixels``;
    with ``fit``, a JPEG decodes at the smallest of 1/2, 1/4 or 1/8 scale that still covers
    ``fit`` x ``fit`` (much faster, for thumbnails). ImageError if it cannot be decoded."""
    with reading(fmt, max_pixels):
        im = open_image(data, fmt)
        check_pixels(fmt, *im.size, max_pixels)
        if fit is not None and fmt == "jpeg":
            im.draft("RGB", (fit, fit))
        im.load()
    return im


def open_image(data: bytes, fmt: str) -> Image.Image:
    """Opens ``data`` (reading its header only) with the Pillow plugin for ``fmt`` only.

    The plugin is called as Image.open would call it, without Image.open's size check: callers
    check sizes against their own limit. A PNG is given as libpng reads it: Pillow refuses an
    ancillary chunk that fails its CRC, which libpng (and so TensorFlow) drops. Raises what
    Pillow raises for an unreadable file, and UnsupportedImage when Pillow has no plugin for
    ``fmt``.
    """
    from PIL import Image

    if fmt == "png":
        data = as_libpng_reads(data)

    Image.init()  # registers the plugins, so that Image.OPEN lists every one Pillow has
    plugins = [name for name in PILLOW_IDS.get(fmt, ()) if name in Image.OPEN]
    if not plugins:
        hint = " (install pillow-heif to read them)" if fmt in ("heic", "heif") else ""
        raise UnsupportedImage(f"cannot read {name_of(fmt)} images: Pillow has no plugin{hint}")
    failure: BaseException | None = None
    for plugin in plugins:
        try:
            im = _open_with(plugin, data)
        except (SyntaxError, IndexError, TypeError, struct.error) as exc:
            failure = exc
            continue
        if im is not None:
            return im
    if failure is not None:
        raise failure
    raise SyntaxError(f"not a {name_of(fmt)} file")


def identify(data: bytes) -> tuple[str, Image.Image] | None:
    """The format, among `PILLOW_ONLY`'s, whose Pillow plugin reads ``data``'s header, and the
    image opened; None if none does."""
    from PIL import Image

    Image.init()
    unreadable: tuple[type[BaseException], ...] = (*pillow_errors(), TypeError)
    for fmt, (plugin, _, _) in PILLOW_ONLY.items():
        if plugin not in Image.OPEN:
            continue
        try:
            im = _open_with(plugin, data)
        except unreadable:
            continue
        if im is not None:
            if im.width > 0 and im.height > 0:
                return fmt, im
            im.close()
    return None


def _open_with(plugin: str, data: bytes) -> Image.Image | None:
    """The image as ``plugin`` opens it; None if its quick check of the first bytes refuses."""
    from PIL import Image

    factory, accept = Image.OPEN[plugin]
    if accept is not None:
        # Pillow's own checks read at most 16 bytes; newer ones may answer with a message.
        verdict = accept(data[:16])
        if not verdict or isinstance(verdict, str):
            return None
    image: Image.Image = factory(io.BytesIO(data), "")
    return image
