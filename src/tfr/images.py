"""Image files: tell formats apart by their bytes, read shapes from headers, re-encode with Pillow.

`probe` answers "what will ``tf.io.decode_image(data, expand_animations=False)`` make of these
bytes?" by parsing headers in pure Python, without decoding a pixel, and catches the damage that
structure alone reveals (a missing end marker, a failed CRC, a size that overruns the file). The
facts it encodes about TensorFlow were checked against TensorFlow 2.21 by ``tests/test_images.py``.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported only when pixels are needed: it slows every start-up
    from PIL import Image

from tfr.errors import ImageError

__all__ = [
    "EXTENSIONS",
    "IMAGE_SUFFIXES",
    "SNIFF_BYTES",
    "TF_FORMATS",
    "ImageInfo",
    "parse_color",
    "probe",
    "reencode",
    "sniff",
    "verify",
]

TF_FORMATS: frozenset[str] = frozenset({"jpeg", "png", "gif", "bmp", "webp"})
"""Formats `tf.io.decode_image` decodes. (TensorFlow 2.21 also reads JPEG XL, but older releases
do not, so a record holding one would not be readable everywhere: tfr treats it as foreign.)"""

EXTENSIONS: dict[str, str] = {
    "jpeg": ".jpg",
    "png": ".png",
    "gif": ".gif",
    "bmp": ".bmp",
    "webp": ".webp",
    "tiff": ".tif",
    "heic": ".heic",
    "heif": ".heif",
    "avif": ".avif",
    "jpeg2000": ".jp2",
    "jxl": ".jxl",
    "ico": ".ico",
    "psd": ".psd",
    "pnm": ".pnm",
    "qoi": ".qoi",
    "dds": ".dds",
    "icns": ".icns",
    "exr": ".exr",
}
"""The usual file suffix of each format `sniff` recognises."""

# How many of a file's first bytes `sniff` needs to know its format.
SNIFF_BYTES = 32

IMAGE_SUFFIXES: frozenset[str] = frozenset(EXTENSIONS.values()) | {
    ".jpeg",
    ".jpe",
    ".jfif",
    ".apng",
    ".dib",
    ".tiff",
    ".hif",
    ".j2k",
    ".jpf",
    ".jpx",
    ".cur",
    ".psb",
    ".pbm",
    ".pgm",
    ".ppm",
    ".pam",
    ".tga",
    ".pcx",
    ".dng",
}
"""Lower-case suffixes of files that claim to be images, whether or not tfr can read them."""

_NAMES = {
    "jpeg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "bmp": "BMP",
    "webp": "WebP",
    "tiff": "TIFF",
    "heic": "HEIC",
    "heif": "HEIF",
    "avif": "AVIF",
    "jpeg2000": "JPEG 2000",
    "jxl": "JPEG XL",
    "ico": "ICO",
    "psd": "Photoshop",
    "pnm": "PNM",
    "qoi": "QOI",
    "dds": "DDS",
    "icns": "ICNS",
    "exr": "OpenEXR",
}

# Pillow's names for the formats, to open a file only with the plugin its bytes call for: letting
# Pillow guess would run whichever plugin accepts first (EPS even runs Ghostscript).
_PILLOW_IDS = {
    "jpeg": ("JPEG", "MPO"),
    "png": ("PNG",),
    "gif": ("GIF",),
    "bmp": ("BMP",),
    "webp": ("WEBP",),
    "tiff": ("TIFF",),
    "heic": ("HEIF",),
    "heif": ("HEIF", "AVIF"),
    "avif": ("AVIF", "HEIF"),
    "jpeg2000": ("JPEG2000",),
    "jxl": ("JXL",),
    "ico": ("ICO", "CUR"),
    "psd": ("PSD",),
    "pnm": ("PPM",),
    "qoi": ("QOI",),
    "dds": ("DDS",),
    "icns": ("ICNS",),
    "exr": (),
}


# What Pillow raises for a file it cannot read: its own errors are OSError and SyntaxError, some
# plugins let a short or inconsistent header through as one of the others, and the AVIF plugin
# reports bad data as RuntimeError.
def _pillow_errors() -> tuple[type[BaseException], ...]:
    from PIL import Image

    return (
        OSError,
        RuntimeError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        struct.error,
        Image.DecompressionBombError,
    )


@dataclass(frozen=True)
class ImageInfo:
    """What `tf.io.decode_image(data, expand_animations=False)` makes of an image.

    ``height`` and ``width`` are as stored (TensorFlow ignores EXIF orientation), 0 when even
    Pillow cannot read them. ``channels`` is the last dimension TensorFlow returns, 0 when it
    cannot decode the file. ``unsupported`` says why not, for a file in a format TensorFlow
    otherwise reads (a 16-bit BMP, a lossless JPEG, ...).
    """

    format: str
    height: int
    width: int
    channels: int
    animated: bool = False
    unsupported: str | None = None

    @property
    def tf_decodable(self) -> bool:
        """Whether TensorFlow decodes this file to the image's own pixels."""
        return self.format in TF_FORMATS and self.unsupported is None

    @property
    def tf_problem(self) -> str | None:
        """Why TensorFlow cannot decode this file, as one line for its user; None if it can."""
        if self.tf_decodable:
            return None
        if self.unsupported is not None:
            return self.unsupported
        return f"{_NAMES.get(self.format, self.format)} image, which TensorFlow cannot decode"


# --------------------------------------------------------------------------------------------
# Telling formats apart


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNM = re.compile(rb"P[1-6]\s+[#0-9]|P7\n")
_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


def sniff(head: bytes) -> str | None:
    """The format of an image from its first `SNIFF_BYTES` bytes (more may be given, and are
    not looked at), or None if they are not one tfr knows."""
    h = bytes(head[:SNIFF_BYTES])
    if h.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if h.startswith(_PNG_SIGNATURE):
        return "png"
    if h.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if h.startswith(b"RIFF") and h[8:12] == b"WEBP":
        return "webp"
    # "BM" alone starts plenty of text; the header size after the file header narrows it down.
    if h.startswith(b"BM") and (len(h) < 18 or _u32le(h, 14) in _BMP_HEADER_SIZES):
        return "bmp"
    if h.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if h[4:8] == b"ftyp":
        return _iso_brand(h)
    if h.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "jpeg2000"
    if h.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "jxl"
    if h.startswith(b"8BPS"):
        return "psd"
    if h.startswith(b"qoif"):
        return "qoi"
    if h.startswith(b"DDS "):
        return "dds"
    if h.startswith(b"icns"):
        return "icns"
    if h.startswith(b"\x76\x2f\x31\x01"):
        return "exr"
    if _PNM.match(h):
        return "pnm"
    # ICO's magic is four bytes common in binary files: also ask for at least one directory
    # entry and the entry's reserved byte to be zero.
    is_ico = h[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(h) >= 22
    if is_ico and _u16le(h, 4) > 0 and h[9] == 0:
        return "ico"
    return None


def _iso_brand(h: bytes) -> str | None:
    """HEIC, HEIF or AVIF from an ISO media file's brands; None for video and the rest."""
    box_end = min(len(h), max(_u32be(h, 0), 16))
    brands = {h[8:12]} | {h[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    if brands & _HEIF_BRANDS:
        return "heif"
    return None


def _u16le(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 2], "little")


def _u32le(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "little")


def _u32be(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "big")


# --------------------------------------------------------------------------------------------
# Reading shapes from headers


def probe(data: bytes) -> ImageInfo:
    """The shape TensorFlow will decode ``data`` to, read from headers without decoding pixels.

    Raises ImageError when the data is not an image tfr knows, or is damaged or cut short.
    """
    if not data:
        raise ImageError("empty file: there is no image in it")
    fmt = sniff(data)
    if fmt is None:
        raise ImageError(
            "not an image: its bytes start like no image format tfr knows "
            "(damaged, or another kind of file under an image's name?)"
        )
    parse = _PARSERS.get(fmt)
    if parse is None:
        return _probe_with_pillow(data, fmt)
    return parse(data)


_CUT = "the file was cut short; re-download or re-export it"
_CORRUPT = "the file is corrupt; re-download or re-export it"


def _truncated(name: str, what: str) -> ImageError:
    return ImageError(f"truncated {name}: {what} ({_CUT})")


def _damaged(name: str, what: str) -> ImageError:
    return ImageError(f"damaged {name}: {what} ({_CORRUPT})")


# -- JPEG --

# Start-of-frame markers: every 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# libjpeg-turbo, as TensorFlow builds it, refuses these ("Unsupported JPEG process").
_SOF_UNSUPPORTED = {
    0xC3: "lossless",
    0xC5: "hierarchical",
    0xC6: "hierarchical",
    0xC7: "hierarchical lossless",
    0xCB: "lossless",
    0xCD: "hierarchical",
    0xCE: "hierarchical",
    0xCF: "hierarchical lossless",
}
_SOF = struct.Struct(">BHHB")
_EOI = b"\xff\xd9"
# TensorFlow's decoders give up beyond these many samples or pixels (it counts in C ints).
_TF_JPEG_MAX_SAMPLES = 1 << 29
_TF_PNG_MAX_SIDE = 1 << 27
_TF_PNG_MAX_PIXELS = 1 << 29
_TF_BMP_MAX_PIXELS = (2**31 - 1) // 8


def _probe_jpeg(data: bytes) -> ImageInfo:
    size = len(data)
    pos = 2
    frame: tuple[int, int, int, int, int] | None = None
    while True:
        if pos >= size:
            raise _truncated("JPEG", "it ends before its image data")
        if data[pos] != 0xFF:
            raise _damaged("JPEG", f"expected a marker at byte {pos}")
        while pos < size and data[pos] == 0xFF:  # a marker may be padded with 0xFF fill bytes
            pos += 1
        if pos >= size:
            raise _truncated("JPEG", "it ends before its image data")
        marker = data[pos]
        pos += 1
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        if marker == 0xD9:
            if frame is None:
                raise ImageError("JPEG without an image: it has no frame header (SOF)")
            raise _damaged("JPEG", "it ends before its image data (no SOS marker)")
        if marker in (0x00, 0xD8):
            raise _damaged("JPEG", f"unexpected marker 0x{marker:02X} at byte {pos - 1}")
        if pos + 2 > size:
            raise _truncated("JPEG", "it ends before its image data")
        end = pos + ((data[pos] << 8) | data[pos + 1])
        if end < pos + 2:
            raise _damaged("JPEG", f"marker 0x{marker:02X} has an impossible length")
        if end > size:
            raise _truncated("JPEG", f"marker 0x{marker:02X} runs past the end of the file")
        if marker in _SOF_MARKERS:
            if frame is not None:
                raise _damaged("JPEG", "it has two frame headers (SOF)")
            if end - pos < 8:
                raise _damaged("JPEG", "its frame header (SOF) is too short")
            precision, height, width, components = _SOF.unpack_from(data, pos + 2)
            if end - pos < 8 + 3 * components:
                raise _damaged("JPEG", "its frame header (SOF) is too short")
            frame = (marker, precision, height, width, components)
        elif marker == 0xDA:
            if frame is None:
                raise ImageError("JPEG without an image: no frame header (SOF) before its data")
            break
        pos = end
    # Entropy-coded data escapes every 0xFF, so FF D9 after the scan header can only be the
    # end-of-image marker. Searching from the end finds it at once in a whole file. Bytes
    # after it are fine: TensorFlow ignores them.
    if data.rfind(_EOI, end) < 0:
        raise _truncated("JPEG", "no end-of-image marker")
    marker, precision, height, width, components = frame
    if width == 0 or height == 0 or components == 0:
        raise _damaged("JPEG", f"its frame header gives {width}x{height} pixels")
    problem = None
    if marker in _SOF_UNSUPPORTED:
        problem = f"{_SOF_UNSUPPORTED[marker]} JPEG, which TensorFlow cannot decode"
    elif precision != 8:
        problem = f"{precision}-bit JPEG: TensorFlow decodes only 8-bit JPEG"
    elif components not in (1, 3, 4):
        problem = f"JPEG with {components} colour components: TensorFlow decodes 1, 3 or 4"
    elif height * width * components >= _TF_JPEG_MAX_SAMPLES:
        problem = f"JPEG of {width}x{height} pixels: too large for TensorFlow's decoder"
    if problem is not None:
        return ImageInfo("jpeg", height, width, 0, unsupported=problem)
    # TensorFlow converts CMYK and YCCK (4 components) to RGB.
    return ImageInfo("jpeg", height, width, 1 if components == 1 else 3)


# -- PNG --

_CHUNK = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


def _probe_png(data: bytes) -> ImageInfo:
    size = len(data)
    view = memoryview(data)
    pos = 8
    header: tuple[int, int, int, int, int, int, int] | None = None
    has_palette = has_trns = has_idat = animated = False
    problem = None
    while True:
        if pos + 12 > size:
            raise _truncated("PNG", "it ends before its IEND chunk")
        length, kind = _CHUNK.unpack_from(data, pos)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise _damaged("PNG", f"invalid chunk header at byte {pos}")
        if end > size:
            raise _truncated("PNG", f"its {kind.decode()} chunk runs past the end of the file")
        if zlib.crc32(view[pos + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            raise _damaged("PNG", f"its {kind.decode()} chunk at byte {pos} fails its CRC check")
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise _damaged("PNG", "it does not start with an IHDR chunk")
            header = _IHDR.unpack_from(data, pos + 8)
        elif kind == b"IDAT":
            has_idat = True
        elif kind == b"PLTE":
            has_palette = True
        elif kind == b"tRNS":
            has_trns = True
        elif kind == b"acTL":
            animated = True
        elif kind == b"IEND":
            break  # bytes after IEND are fine: TensorFlow ignores them
        elif kind == b"IHDR":
            raise _damaged("PNG", "it has two IHDR chunks")
        elif not kind[0] & 0x20 and problem is None:  # lower-case first letter: safe to skip
            problem = f"PNG with an unknown critical chunk {kind.decode()}: TensorFlow refuses it"
        pos = end
    width, height, depth, color, compression, filtering, interlace = header
    if (
        width == 0
        or height == 0
        or width > 0x7FFFFFFF
        or height > 0x7FFFFFFF
        or depth not in _PNG_DEPTHS.get(color, ())
        or compression
        or filtering
        or interlace > 1
    ):
        raise _damaged("PNG", "its IHDR header is invalid")
    if not has_idat:
        raise _damaged("PNG", "it has no image data (IDAT)")
    if color == 3 and not has_palette:
        raise _damaged("PNG", "a palette image without a palette (PLTE)")
    too_large = max(width, height) >= _TF_PNG_MAX_SIDE or width * height >= _TF_PNG_MAX_PIXELS
    if problem is None and too_large:
        problem = f"PNG of {width}x{height} pixels: too large for TensorFlow's decoder"
    if problem is not None:
        return ImageInfo("png", height, width, 0, animated, problem)
    # A palette's transparency becomes an alpha channel; TensorFlow ignores the tRNS colour key
    # of grey and RGB images. 16-bit images keep their channel count (as 8-bit samples).
    # For an APNG, TensorFlow decodes the default image only, as a 3-D still.
    channels = 4 if color == 3 and has_trns else _PNG_CHANNELS[color]
    return ImageInfo("png", height, width, channels, animated)


# -- GIF --

_GIF_SCREEN = struct.Struct("<HHB")
_GIF_IMAGE = struct.Struct("<HHHHB")


def _probe_gif(data: bytes) -> ImageInfo:
    size = len(data)
    if size < 13:
        raise _truncated("GIF", "it ends inside its header")
    screen_width, screen_height, flags = _GIF_SCREEN.unpack_from(data, 6)
    global_palette = bool(flags & 0x80)
    pos = 13 + _gif_palette_size(flags)
    frames = frame_width = frame_height = 0
    palette_missing = False
    while True:
        if pos >= size:
            raise _truncated("GIF", "no trailer (0x3B) after its last block")
        block = data[pos]
        if block == 0x3B:
            break
        if block == 0x21:  # extension: a label, then data sub-blocks
            pos = _skip_sub_blocks(data, pos + 2, size)
        elif block == 0x2C:  # image: descriptor, palette, LZW code size, data sub-blocks
            if pos + 10 > size:
                raise _truncated("GIF", "it ends inside an image descriptor")
            _, _, width, height, image_flags = _GIF_IMAGE.unpack_from(data, pos + 1)
            frames += 1
            frame_width = max(frame_width, width)
            frame_height = max(frame_height, height)
            palette_missing |= not (image_flags & 0x80 or global_palette)
            pos = _skip_sub_blocks(data, pos + 11 + _gif_palette_size(image_flags), size)
        else:
            raise _damaged("GIF", f"unknown block 0x{block:02X} at byte {pos}")
    if frames == 0:
        raise ImageError("GIF without an image: it has no image descriptor")
    if screen_width == 0 or screen_height == 0:
        raise _damaged("GIF", f"its canvas is {screen_width}x{screen_height} pixels")
    problem = None
    if palette_missing:
        problem = "GIF with a frame that has no colour table, which TensorFlow refuses"
    elif (frame_width, frame_height) != (screen_width, screen_height):
        # TensorFlow sizes its output by the largest frame, not by the canvas, and draws each
        # frame at its offset clipped to that size: the result is not the picture.
        problem = (
            f"GIF whose frames do not match its {screen_width}x{screen_height} canvas: "
            f"TensorFlow would decode it as {frame_width}x{frame_height}"
        )
    if problem is not None:
        return ImageInfo("gif", screen_height, screen_width, 0, frames > 1, problem)
    return ImageInfo("gif", screen_height, screen_width, 3, frames > 1)


def _gif_palette_size(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _skip_sub_blocks(data: bytes, pos: int, size: int) -> int:
    """The position after a chain of GIF data sub-blocks and its zero-length terminator."""
    while True:
        if pos >= size:
            raise _truncated("GIF", "it ends inside a data block")
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


# -- BMP --

_BMP_STANDARD_MASKS = (0x00FF0000, 0x0000FF00, 0x000000FF)


def _probe_bmp(data: bytes) -> ImageInfo:
    size = len(data)
    if size < 26:
        raise _truncated("BMP", "it ends inside its header")
    offset = _u32le(data, 10)
    header_size = _u32le(data, 14)
    if header_size not in _BMP_HEADER_SIZES:
        raise _damaged("BMP", f"unknown header size {header_size}")
    if size < 14 + header_size:
        raise _truncated("BMP", "it ends inside its header")
    if header_size == 12:  # OS/2 1.x: 16-bit sizes
        width, height, _, bits = struct.unpack_from("<HHHH", data, 18)
    else:
        width, height, _, bits = struct.unpack_from("<iiHH", data, 18)
    compression = _u32le(data, 30) if header_size >= 40 else 0
    if width <= 0 or height == 0:
        raise _damaged("BMP", f"its header gives {width}x{height} pixels")
    height = abs(height)  # negative: rows stored top-down
    if bits not in (1, 2, 4, 8, 16, 24, 32, 64):
        raise _damaged("BMP", f"unknown depth of {bits} bits per pixel")
    if offset < 14 + header_size:
        raise _damaged("BMP", "its pixel data overlaps its header")
    extra = 0
    if compression in (0, 3, 6):  # uncompressed, so the size of the pixels is known
        needed = offset + (bits * width + 31) // 32 * 4 * height
        if size < needed:
            raise _truncated("BMP", f"{needed - size} bytes of its pixels are missing")
        extra = size - needed
    problem = _bmp_problem(data, header_size, bits, compression, width * height, extra)
    if problem is not None:
        return ImageInfo("bmp", height, width, 0, unsupported=problem)
    return ImageInfo("bmp", height, width, bits // 8)


def _bmp_problem(
    data: bytes, header_size: int, bits: int, compression: int, pixels: int, extra: int
) -> str | None:
    """Why TensorFlow cannot decode this BMP. Its decoder reads the depth and the size, and
    nothing else: it assumes uncompressed BGR(A) rows that fill the file exactly, and ignores
    any palette."""
    if header_size in (12, 16, 64):
        return "OS/2 BMP, which TensorFlow cannot decode"
    if bits not in (8, 24, 32):
        return f"{bits}-bit BMP: TensorFlow decodes only 8, 24 and 32-bit BMP"
    if compression == 3 and bits == 32:
        # The masks follow a 40-byte header and are part of the longer ones: at 54 either way.
        if len(data) < 66 or struct.unpack_from("<III", data, 54) != _BMP_STANDARD_MASKS:
            return "BMP with non-standard colour masks, which TensorFlow cannot decode"
    elif compression != 0:
        return "compressed BMP, which TensorFlow cannot decode"
    if bits == 8 and not _bmp_palette_is_grey(data, header_size):
        return "palette BMP: TensorFlow would return its palette indices, not its colours"
    if extra:
        return f"BMP with {extra} bytes after its pixels, which TensorFlow refuses"
    if pixels >= _TF_BMP_MAX_PIXELS:
        return "BMP too large for TensorFlow's decoder"
    return None


def _bmp_palette_is_grey(data: bytes, header_size: int) -> bool:
    """Whether palette entry i is the grey (i, i, i), so indices read as grey are the colours."""
    start = 14 + header_size
    used = _u32le(data, 46) or 256
    if used > 256 or start + 4 * used > len(data):
        return False
    return all(
        data[at] == data[at + 1] == data[at + 2] == i
        for i, at in enumerate(range(start, start + 4 * used, 4))
    )


# -- WebP --

_VP8X_ANIMATION = 0x02
_VP8X_ALPHA = 0x10


def _probe_webp(data: bytes) -> ImageInfo:
    if len(data) < 20:
        raise _truncated("WebP", "it ends inside its header")
    end = 8 + _u32le(data, 4)
    if end > len(data):
        raise _truncated("WebP", f"its RIFF header promises {end} bytes, the file has {len(data)}")
    chunks = _riff_chunks(data, end)
    kind, start, stop = next(chunks)
    if kind == b"VP8X":
        if stop - start < 10:
            raise _damaged("WebP", "its VP8X chunk is too short")
        flags = data[start]
        width = int.from_bytes(data[start + 4 : start + 7], "little") + 1
        height = int.from_bytes(data[start + 7 : start + 10], "little") + 1
        if flags & _VP8X_ANIMATION:
            for _ in chunks:  # walk every frame, which catches chunks cut or mis-sized
                pass
            if flags & _VP8X_ALPHA:
                return ImageInfo("webp", height, width, 4, animated=True)
            # TensorFlow sizes its output by this flag but libwebp always decodes animations
            # to RGBA: without the flag it writes a third more bytes than it allocated.
            problem = "animated WebP without alpha: TensorFlow's decoder overruns its buffer on it"
            return ImageInfo("webp", height, width, 0, True, problem)
        has_alpha = bool(flags & _VP8X_ALPHA)
        for kind, start, stop in chunks:
            if kind == b"ALPH":
                has_alpha = True
            elif kind in (b"VP8 ", b"VP8L"):
                bitstream = _webp_bitstream(data, kind, start, stop)
                break
        else:
            raise _damaged("WebP", "it has no image data (VP8 or VP8L chunk)")
        if bitstream[:2] != (width, height):
            raise _damaged("WebP", "its canvas and its image differ in size")
        # libwebp takes a lossless image's alpha from its own header, not from the VP8X flag.
        if kind == b"VP8L":
            has_alpha = bitstream[2]
    elif kind in (b"VP8 ", b"VP8L"):
        width, height, has_alpha = _webp_bitstream(data, kind, start, stop)
    else:
        raise _damaged("WebP", "it has no VP8, VP8L or VP8X chunk")
    return ImageInfo("webp", height, width, 4 if has_alpha else 3)


def _riff_chunks(data: bytes, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, payload start, payload end) of each chunk of a RIFF file up to ``end``."""
    pos = 12
    while pos + 8 <= end:
        length = _u32le(data, pos + 4)
        stop = pos + 8 + length
        if stop > end:
            raise _truncated("WebP", f"its {data[pos : pos + 4]!r} chunk runs past the end")
        yield data[pos : pos + 4], pos + 8, stop
        pos = stop + (length & 1)
    if pos == 12:
        raise _damaged("WebP", "it has no chunks")


def _webp_bitstream(data: bytes, kind: bytes, start: int, stop: int) -> tuple[int, int, bool]:
    """Width, height and alpha from the start of a VP8 (lossy) or VP8L (lossless) bitstream."""
    if kind == b"VP8 ":
        if stop - start < 10:
            raise _damaged("WebP", "its VP8 chunk is too short")
        if data[start] & 1 or data[start + 3 : start + 6] != b"\x9d\x01\x2a":
            raise _damaged("WebP", "its VP8 data does not start with a key frame")
        width = _u16le(data, start + 6) & 0x3FFF
        height = _u16le(data, start + 8) & 0x3FFF
        if width == 0 or height == 0:
            raise _damaged("WebP", f"its VP8 header gives {width}x{height} pixels")
        return width, height, False
    if stop - start < 5 or data[start] != 0x2F:
        raise _damaged("WebP", "its VP8L data has no signature")
    bits = _u32le(data, start + 1)
    if bits >> 29:
        raise _damaged("WebP", "unknown VP8L version")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)


# -- formats TensorFlow does not read --


def _probe_with_pillow(data: bytes, fmt: str) -> ImageInfo:
    """Shape of a format TensorFlow cannot decode, from Pillow's header reader if it has one."""
    unreadable: tuple[type[BaseException], ...] = (*_pillow_errors(), ImageError)
    try:
        with _open(data, fmt) as im:
            width, height = im.size
            animated = bool(getattr(im, "is_animated", False))
    except unreadable:
        return ImageInfo(fmt, 0, 0, 0)
    return ImageInfo(fmt, height, width, 0, animated)


_PARSERS = {
    "jpeg": _probe_jpeg,
    "png": _probe_png,
    "gif": _probe_gif,
    "bmp": _probe_bmp,
    "webp": _probe_webp,
}


# --------------------------------------------------------------------------------------------
# Decoding and re-encoding with Pillow


def _open(data: bytes, fmt: str) -> Image.Image:
    """Opens ``data`` with the Pillow plugin for ``fmt`` only."""
    from PIL import Image

    Image.init()  # registers the plugins, so that Image.OPEN lists every one Pillow has
    available = [name for name in _PILLOW_IDS.get(fmt, ()) if name in Image.OPEN]
    if not available:
        hint = " (install pillow-heif to read them)" if fmt in ("heic", "heif") else ""
        raise ImageError(f"cannot read {_NAMES.get(fmt, fmt)} images: Pillow has no plugin{hint}")
    return Image.open(io.BytesIO(data), formats=available)


def verify(data: bytes, info: ImageInfo) -> None:
    """Decodes every frame with Pillow; raises ImageError if that fails or if the decoded size
    is not the one `probe` read from the headers.

    A JPEG is decoded at 1/8 scale, twice as fast: libjpeg still reads every Huffman code of
    every scan, where damage shows, and only the inverse DCT and colour conversion, which
    cannot fail, run on fewer pixels. A still PNG that is not interlaced is inflated and its
    rows' filter types checked, without Pillow (`_inflate_png`).
    """
    name = _NAMES.get(info.format, info.format)
    if info.format == "png" and not info.animated and _inflate_png(data):
        return
    try:
        with _open(data, info.format) as im:
            size = im.size
            if info.format == "jpeg":
                im.draft(None, (1, 1))
            for frame in range(getattr(im, "n_frames", 1) if info.animated else 1):
                im.seek(frame)
                im.load()
    except _pillow_errors() as exc:
        raise _damaged(name, f"its pixels cannot be decoded ({exc})") from exc
    if size != (info.width, info.height):
        raise _damaged(
            name,
            f"it decodes to {size[0]}x{size[1]} pixels but its header says "
            f"{info.width}x{info.height}",
        )


# Samples per pixel in a PNG's image data, by colour type.
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_FILTER_TYPES = bytes(range(5))
_INFLATE_STEP = 1 << 20


def _inflate_png(data: bytes) -> bool:
    """Checks a probed PNG's image data as a decoder reads it, three times faster than Pillow's
    decode: every byte is inflated and every row's filter type checked. Unfiltering, the rest
    of a decode, cannot fail. As Pillow and libpng do, data past the last row is not read.
    Returns False, having checked nothing, for an interlaced PNG: Pillow decodes those.
    """
    width, height, depth, colour, _, _, interlaced = _IHDR.unpack_from(data, 16)
    if interlaced:
        return False
    stride = 1 + (width * depth * _PNG_SAMPLES[colour] + 7) // 8  # a filter byte, then a row
    expected = stride * height
    inflater = zlib.decompressobj()
    view = memoryview(data)
    done = 0
    pos = 8
    try:
        while done < expected and not inflater.eof and pos + 8 <= len(data):
            length, kind = _CHUNK.unpack_from(data, pos)
            if kind == b"IEND":
                break
            if kind == b"IDAT":
                compressed: bytes | memoryview = view[pos + 8 : pos + 8 + length]
                while compressed and done < expected:
                    # Bounded steps: a small chunk may inflate to gigabytes.
                    rows = inflater.decompress(compressed, min(expected - done, _INFLATE_STEP))
                    compressed = inflater.unconsumed_tail
                    if rows[-done % stride :: stride].translate(None, _FILTER_TYPES):
                        raise _damaged("PNG", "a row has an unknown filter type")
                    done += len(rows)
                    if not rows:
                        break
            pos += 12 + length
    except zlib.error as exc:
        raise _damaged("PNG", f"its image data cannot be inflated ({exc})") from exc
    if done < expected:
        raise _damaged("PNG", f"its image data ends in row {done // stride + 1} of {height}")
    return True


_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# An ICC profile describes one colour space: it is kept only when the output is in that space.
_ICC_SPACES = {"RGB": b"RGB ", "P": b"RGB ", "L": b"GRAY"}


def reencode(
    data: bytes,
    fmt: str = "jpeg",
    *,
    quality: int = 100,
    background: tuple[int, int, int] = (255, 255, 255),
    source: ImageInfo | None = None,
) -> tuple[bytes, ImageInfo]:
    """Decodes an image with Pillow and encodes it as ``"jpeg"`` or ``"png"``, which TensorFlow
    decodes. Returns the new bytes and their `ImageInfo`. ``source`` is `probe`'s result for
    ``data`` when the caller has it already, so the checks are not run twice.

    Transparency is composited onto ``background`` (a grey image onto its luminance); grey
    stays grey; 16-bit samples keep their high byte, as TensorFlow does; CMYK becomes RGB; the
    ICC profile is kept. An animation keeps its first frame, the one TensorFlow decodes with
    ``expand_animations=False``. EXIF orientation is not applied, as TensorFlow ignores it.
    The same input always gives the same bytes.
    """
    if fmt not in ("jpeg", "png"):
        raise ValueError(f"cannot re-encode to {fmt!r}: choose 'jpeg' or 'png'")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be between 1 and 100, not {quality}")
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise ValueError(f"background must be three values from 0 to 255, not {background!r}")
    # Probing first refuses damaged input rather than turning it into a clean-looking file.
    if source is None:
        source = probe(data)
    out = io.BytesIO()
    with _decoded(data, source.format) as im:
        pixels = _flatten(im, background, grey=source.channels in (1, 2), keep_palette=fmt == "png")
        icc = im.info.get("icc_profile")
        if not (isinstance(icc, bytes) and icc[16:20] == _ICC_SPACES.get(pixels.mode)):
            icc = None
        # Nothing else of the source's metadata goes along; EXIF least of all, or a viewer
        # would rotate what TensorFlow will not.
        pixels.info = {}
        if fmt == "jpeg":
            # 4:2:0 chroma subsampling at every quality: TensorFlow's encode_jpeg does the same
            # by default (the tutorial's quality-100 files), and 4:4:4 makes quality-100 files
            # about 60% larger for colour detail finer than the luma's. No optimize=True, as
            # TensorFlow's default: its second pass made re-encoding 25% slower in the
            # benchmark for files a few per cent smaller.
            pixels.save(out, "JPEG", quality=quality, subsampling="4:2:0", icc_profile=icc)
        else:
            pixels.save(out, "PNG", icc_profile=icc)
    encoded = out.getvalue()
    return encoded, probe(encoded)


def _decoded(data: bytes, fmt: str) -> Image.Image:
    """The image's first frame, decoded; ImageError if Pillow cannot decode it."""
    try:
        im = _open(data, fmt)
        im.load()
    except _pillow_errors() as exc:
        name = _NAMES.get(fmt, fmt)
        raise _damaged(name, f"its pixels cannot be decoded ({exc})") from exc
    return im


def _flatten(
    im: Image.Image, background: tuple[int, int, int], *, grey: bool, keep_palette: bool
) -> Image.Image:
    """The image as L, RGB or (for PNG) P pixels, with any transparency composited away."""
    from PIL import Image

    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES:
        # The high byte of each sample, as TensorFlow (libpng) keeps when it decodes 16 bits to
        # 8; converting straight to L would clip everything above 255 to white. A 16-bit colour
        # key (tRNS) is ignored here as TensorFlow ignores it.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("1", "F"):
        return im.convert("L")
    if mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")  # also turns a palette's or a colour key's transparency to alpha
        if grey or mode in ("L", "LA", "La"):
            red, green, blue = background
            # The luminance weights (ITU-R 601-2) Pillow uses to convert RGB to L.
            luma = (red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16
            flat = Image.new("L", rgba.size, luma)
        else:
            flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba.convert(flat.mode), mask=rgba.getchannel("A"))
        return flat
    if mode == "P" and keep_palette:
        return im
    if mode == "L" or (mode == "RGB" and not grey):
        return im
    return im.convert("L" if grey else "RGB")


def parse_color(text: str) -> tuple[int, int, int]:
    """An RGB colour from a name ("white"), hex ("#808080") or "r,g,b" ("128,128,128")."""
    triple = _RGB_TRIPLE.fullmatch(text)
    try:
        if triple is not None:
            red, green, blue = (int(value) for value in triple.groups())
            if max(red, green, blue) <= 255:
                return red, green, blue
        else:
            from PIL import ImageColor

            color = ImageColor.getrgb(text.strip())
            if len(color) == 3:  # not an RGBA colour: alpha has no meaning for a background
                return color[0], color[1], color[2]
    except ValueError:
        pass
    raise ValueError(
        f"not a colour: {text!r} (use a name such as 'white', '#rrggbb' or 'r,g,b' with 0-255)"
    )


_RGB_TRIPLE = re.compile(r"\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*")
