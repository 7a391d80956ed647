"""Decoding an image's compressed data to find the damage its headers do not show."""

from __future__ import annotations

import zlib

from tfr.images.formats import name_of
from tfr.images.gif import tensorflow_frames
from tfr.images.info import ImageInfo, damaged
from tfr.images.pillow import (
    DEFAULT_MAX_PIXELS,
    check_pixels,
    open_image,
    pillow_errors,
    reading,
)
from tfr.images.png import CHUNK, IHDR

__all__ = ["verify"]


def verify(
    data: bytes, info: ImageInfo, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[str, ...]:
    """Decodes what TensorFlow decodes of a probed image (every frame it reads; an APNG's
    default image), with Pillow; raises ImageError if that fails or if the decoded size is not
    the one `probe` read from the headers. Damage TensorFlow tolerates is tolerated here too:
    `info.tolerated`, and what decoding finds, which verify returns in the same words (a GIF
    frame after the first that cannot be decoded: TensorFlow keeps the frames before it).

    An image of more than ``max_pixels`` pixels is not decoded: ImageTooLarge. Pillow's own
    limit (a process-wide setting) never refuses an image within ``max_pixels``.

    A JPEG is decoded at 1/8 scale, twice as fast: libjpeg still reads every Huffman code of
    every scan, where damage shows, and only the inverse DCT and colour conversion, which
    cannot fail, run on fewer pixels. A PNG that is not interlaced is inflated and its rows'
    filter types checked, without Pillow (`_inflate_png`). An uncompressed BMP that TensorFlow
    decodes has nothing more to check: `probe` made sure all its pixels are there.
    """
    check_pixels(info.format, info.width, info.height, max_pixels)
    if info.format == "bmp" and info.tf_decodable:
        return ()
    if info.format == "png" and _inflate_png(data):
        return ()
    frames = 1
    if info.animated and info.format == "gif":
        frames = max(1, tensorflow_frames(data))
    tolerated: tuple[str, ...] = ()
    with reading(info.format, max_pixels), open_image(data, info.format) as im:
        size = im.size
        check_pixels(info.format, size[0], size[1], max_pixels)
        if info.animated and info.format == "webp":
            frames = getattr(im, "n_frames", 1)
        if info.format == "jpeg":
            im.draft(None, (1, 1))
        im.load()
        for frame in range(1, frames):
            try:
                im.seek(frame)
                im.load()
            except pillow_errors() as exc:
                if info.format != "gif":
                    raise
                # giflib stops at a frame it cannot decode, and TensorFlow keeps those before.
                tolerated = (
                    f"GIF frame {frame + 1} cannot be decoded ({exc}): TensorFlow reads only "
                    f"the {frame} frame{'s' if frame > 1 else ''} before it",
                )
                break
    if size != (info.width, info.height):
        raise damaged(
            name_of(info.format),
            f"it decodes to {size[0]}x{size[1]} pixels but its header says "
            f"{info.width}x{info.height}",
        )
    return tolerated


# Samples per pixel in a PNG's image data, by colour type.
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_FILTER_TYPES = bytes(range(5))
_INFLATE_STEP = 1 << 20


def _inflate_png(data: bytes) -> bool:
    """Checks a probed PNG's image data as a decoder reads it, three times faster than Pillow's
    decode: every byte is inflated and every row's filter type checked. Unfiltering, the rest
    of a decode, cannot fail. As Pillow and libpng do, data past the last row is not read.
    Only IDAT chunks are read: an APNG's default image, what TensorFlow decodes.
    Returns False, having checked nothing, for an interlaced PNG: Pillow decodes those.
    """
    width, height, depth, colour, _, _, interlaced = IHDR.unpack_from(data, 16)
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
            length, kind = CHUNK.unpack_from(data, pos)
            if kind == b"IEND":
                break
            if kind == b"IDAT":
                compressed: bytes | memoryview = view[pos + 8 : pos + 8 + length]
                while compressed and done < expected:
                    # Bounded steps: a small chunk may inflate to gigabytes.
                    rows = inflater.decompress(compressed, min(expected - done, _INFLATE_STEP))
                    compressed = inflater.unconsumed_tail
                    if rows[-done % stride :: stride].translate(None, _FILTER_TYPES):
                        raise damaged("PNG", "a row has an unknown filter type")
                    done += len(rows)
                    if not rows:
                        break
            pos += 12 + length
    except zlib.error as exc:
        raise damaged("PNG", f"its image data cannot be inflated ({exc})") from exc
    if done < expected:
        raise damaged("PNG", f"its image data ends in row {done // stride + 1} of {height}")
    return True
