"""Re-encoding an image as JPEG or PNG with Pillow, as TensorFlow would decode the original."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from tfr.images.info import ImageInfo
from tfr.images.pillow import DEFAULT_MAX_PIXELS, check_pixels, open_image, quiet, reading
from tfr.images.probe import probe

__all__ = ["encode", "flatten", "luma", "reencode"]


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
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> tuple[bytes, ImageInfo]:
    """Decodes an image with Pillow and encodes it as ``"jpeg"`` or ``"png"``, which TensorFlow
    decodes. Returns the new bytes and their `ImageInfo`. ``source`` is `probe`'s result for
    ``data`` when the caller has it already, so the checks are not run twice.

    Transparency is composited onto ``background`` (a grey image onto its luminance); grey
    stays grey; 16-bit samples keep their high byte, as TensorFlow does; CMYK becomes RGB; the
    ICC profile is kept. An animation keeps its first frame, the one TensorFlow decodes with
    ``expand_animations=False`` (an APNG's default image). EXIF orientation is not applied,
    as TensorFlow ignores it. The same input always gives the same bytes.

    An image of more than ``max_pixels`` pixels is not decoded: ImageTooLarge. Pillow's own
    limit (a process-wide setting) never refuses an image within ``max_pixels``. Pillow's
    warnings while decoding are not shown: `probe` reports what they say about the source
    (`ImageInfo.tolerated`).
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
    check_pixels(source.format, source.width, source.height, max_pixels)
    with reading(source.format, max_pixels):
        im = open_image(data, source.format)
        check_pixels(source.format, im.width, im.height, max_pixels)
        im.load()
    # Converting warns too (a palette's transparency given as bytes, say): not the user's news.
    with quiet(), im:
        pixels = flatten(im, background, grey=source.channels in (1, 2), keep_palette=fmt == "png")
        encoded = encode(pixels, fmt, quality, im.info.get("icc_profile"))
    return encoded, probe(encoded)


def encode(pixels: Image.Image, fmt: str, quality: int, icc: object) -> bytes:
    """``pixels`` (L, RGB or P) as a JPEG, PNG or WebP file, with the ICC profile ``icc`` when
    it describes their colour space."""
    if not (isinstance(icc, bytes) and icc[16:20] == _ICC_SPACES.get(pixels.mode)):
        icc = None
    # Nothing else of the source's metadata goes along; EXIF least of all, or a viewer would
    # rotate what TensorFlow will not.
    pixels.info = {}
    out = io.BytesIO()
    if fmt == "jpeg":
        # 4:2:0 chroma subsampling at every quality: TensorFlow's encode_jpeg does the same by
        # default (the tutorial's quality-100 files), and 4:4:4 makes quality-100 files about
        # 60% larger for colour detail finer than the luma's. No optimize=True, as TensorFlow's
        # default: its second pass made re-encoding 25% slower in the benchmark for files a
        # few per cent smaller.
        pixels.save(out, "JPEG", quality=quality, subsampling="4:2:0", icc_profile=icc)
    elif fmt == "webp":
        pixels.save(out, "WEBP", quality=quality, icc_profile=icc)
    else:
        pixels.save(out, "PNG", icc_profile=icc)
    return out.getvalue()


def luma(background: tuple[int, int, int]) -> int:
    """The grey of an RGB colour, by the luminance weights (ITU-R 601-2) Pillow uses to
    convert RGB to L."""
    red, green, blue = background
    return (red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16


def flatten(
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
            flat = Image.new("L", rgba.size, luma(background))
        else:
            flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba.convert(flat.mode), mask=rgba.getchannel("A"))
        return flat
    if mode == "P" and keep_palette:
        return im
    if mode == "L" or (mode == "RGB" and not grey):
        return im
    return im.convert("L" if grey else "RGB")
