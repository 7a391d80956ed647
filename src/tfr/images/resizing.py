"""Resizing images for training, and turning them upright: pure functions on bytes.

`ResizeSpec` says what size to make (``"256"``: the shorter side, the ImageNet convention;
``"224x224"`` with a mode: fit, fill, pad or stretch). `resize` decodes an image, turns it
upright if asked, resamples it and encodes it again, and says what it did (`Resized`).

Speed comes from doing less: a JPEG much larger than its target is decoded at 1/2, 1/4 or
1/8 of its size by libjpeg's DCT scaling (Pillow's ``draft``), which skips most of the decoding
work; Pillow's ``reducing_gap`` then bins the rest down by whole factors before the final
filter. Both stop early enough that the result stays close to a full decode resampled
with the same filter: benchmarks/RESIZE.md has the measurements behind `DRAFT_GAP`,
`REDUCING_GAP` and `FILTER`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

from tfr.errors import ImageTooLarge
from tfr.images.formats import NAMES
from tfr.images.info import ImageInfo
from tfr.images.orientation import exif_orientation, swaps_sides, upright
from tfr.images.pillow import DEFAULT_MAX_PIXELS, check_pixels, open_image, reading
from tfr.images.probe import probe
from tfr.images.reencoding import encode, flatten, luma

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DRAFT_GAP",
    "FILTER",
    "OUTPUT_FORMATS",
    "REDUCING_GAP",
    "RESIZE_MODES",
    "ResizePlan",
    "ResizeSpec",
    "Resized",
    "resize",
]

RESIZE_MODES = ("fit", "fill", "pad", "stretch")
"""How a WIDTHxHEIGHT target is met: within it, covering it and centre-cropped, within it and
centred on a background, or with its aspect ignored."""

OUTPUT_FORMATS = ("jpeg", "png", "webp")

"""Pillow's own MAX_IMAGE_PIXELS: about 270 MB decoded as RGB. Above it Pillow warns, and
above twice it refuses; refusing here first says so in tfr's words."""

FILTER = "lanczos"
"""The resampling filter: Pillow's Lanczos (a = 3), antialiased when shrinking. After a
reduced JPEG decode it costs about 10% more than bicubic and stays closer to a full decode
resampled with Lanczos."""

DRAFT_GAP = 1.0
"""A JPEG is decoded at 1/k of its size (k = 2, 4 or 8) when it stays at least DRAFT_GAP times
the size it is resampled to; the filter does the rest. At 1.0 (the largest k that does not go
below the target) a camera photo resizes 4-5 times faster than from a full decode, and its
pixels differ from the full decode's by about 45 dB PSNR: about the difference between the
bilinear and Lanczos filters, and far below what JPEG encoding at quality 90 changes."""

REDUCING_GAP = 3.0
"""Pillow's reducing_gap: before the filter, pixels are binned by whole factors down to at
least this many times the target size. At 3.0 the result is within 75 dB of the filter alone
(as good as identical) and a large PNG resizes about 25% faster."""

# The largest side each format can hold.
_MAX_SIDE = {"jpeg": 65_535, "webp": 16_383, "png": 2**31 - 1}
# "x", "X" or the multiplication sign between width and height.
_SIZE = re.compile(r"\s*([0-9]+)\s*(?:[xX\u00d7]\s*([0-9]+)\s*)?")
_MAX_TARGET_SIDE = 65_535


@dataclass(frozen=True)
class ResizePlan:
    """How an image of a given size is resized: the part of it (``box``, in its pixels,
    fractional) resampled to ``size``, placed at ``offset`` on an output of ``canvas`` pixels
    (bigger than ``size`` only when padding)."""

    size: tuple[int, int]
    box: tuple[float, float, float, float]
    canvas: tuple[int, int]
    offset: tuple[int, int]
    shrinks: bool  # whether the image is larger than the target, as `only_larger` means it

    @property
    def is_identity(self) -> bool:
        """Whether the output would be the image's own pixels."""
        return self.canvas == self.size and self.box == (0, 0, *self.size)

    def reduction(self) -> float:
        """How many times smaller the image becomes along the axis it shrinks least."""
        return min(
            (self.box[2] - self.box[0]) / self.size[0], (self.box[3] - self.box[1]) / self.size[1]
        )


@dataclass(frozen=True)
class ResizeSpec:
    """A target size: ``shorter_side`` alone, or ``width`` and ``height`` with a ``mode``.

    Sizes are whole pixels, computed exactly (integers, no floating point), for an image of
    w x h pixels (after turning it upright, if that is asked):

    - shorter side S: the shorter side becomes S, the longer L becomes round(L * S / s),
      halves rounded up, at least 1 (so 4032x3024 to 256 gives 341x256, 3x2 to 2 gives 3x2);
    - fit W x H: scaled by min(W/w, H/h): the limiting side becomes exactly its target, the
      other round(side * scale), at least 1 and at most its target;
    - fill W x H: exactly W x H. The source region kept is the centred W:H part of the
      image, with fractional edges: the cropping is done by the filter, not by rounding;
    - pad W x H: the fit size, placed on a W x H canvas of the background colour at
      ((W - w') // 2, (H - h') // 2): an odd pixel of padding goes right or below;
    - stretch W x H: exactly W x H, aspect not kept.

    With ``only_larger``, images that are not larger than the target are left as they are
    (not padded either): for the shorter side, those whose shorter side is at most S; for fit,
    pad and stretch, those within W x H; for fill, those not larger than W x H on both sides
    (covering the target would enlarge them).
    """

    shorter_side: int | None = None
    width: int | None = None
    height: int | None = None
    mode: str = "fit"
    only_larger: bool = False

    def __post_init__(self) -> None:
        if self.shorter_side is not None:
            sides: tuple[int | None, ...] = (self.shorter_side,)
            if self.width is not None or self.height is not None:
                raise ValueError("a resize is a shorter side, or a width and a height, not both")
        else:
            sides = (self.width, self.height)
        for side in sides:
            if side is None or not 1 <= side <= _MAX_TARGET_SIDE:
                raise ValueError(f"a size must be 1 to {_MAX_TARGET_SIDE} pixels, not {side}")
        if self.mode not in RESIZE_MODES:
            raise ValueError(f"unknown resize mode {self.mode!r}: use {', '.join(RESIZE_MODES)}")

    @classmethod
    def parse(cls, text: str, mode: str | None = None, *, only_larger: bool = False) -> ResizeSpec:
        """``"256"`` (the shorter side) or ``"224x224"`` (width x height, with ``mode``,
        "fit" unless given). ValueError, saying what is expected, for anything else."""
        match = _SIZE.fullmatch(text)
        if match is None:
            raise ValueError(
                f"not a size: {text!r} (give the shorter side, such as 256, "
                "or a width and a height, such as 224x224)"
            )
        first, second = match.groups()
        if second is None:
            if mode is not None:
                raise ValueError(
                    f"a mode ({mode}) applies to a width and a height such as 224x224, not to "
                    f"a shorter side ({text.strip()})"
                )
            return cls(shorter_side=int(first), only_larger=only_larger)
        mode = mode or "fit"
        return cls(width=int(first), height=int(second), mode=mode, only_larger=only_larger)

    def __str__(self) -> str:
        if self.shorter_side is not None:
            return str(self.shorter_side)
        return f"{self.width}x{self.height}"

    def describe(self) -> dict[str, object]:
        """The spec and the resampling choices, for a manifest."""
        described: dict[str, object] = {"size": str(self)}
        if self.shorter_side is None:
            described["mode"] = self.mode
        described["only_larger"] = self.only_larger
        described["filter"] = FILTER
        described["jpeg_draft_gap"] = DRAFT_GAP
        described["reducing_gap"] = REDUCING_GAP
        return described

    def plan(self, width: int, height: int) -> ResizePlan:
        """How an image of ``width`` x ``height`` pixels is resized (the docstring of
        `ResizeSpec` gives the arithmetic)."""
        full = (0.0, 0.0, float(width), float(height))
        if self.shorter_side is not None:
            side = self.shorter_side
            if width <= height:
                size = (side, _scaled(height, side, width))
            else:
                size = (_scaled(width, side, height), side)
            return ResizePlan(size, full, size, (0, 0), side < min(width, height))
        assert self.width is not None and self.height is not None
        target_w, target_h = self.width, self.height
        within = width <= target_w and height <= target_h
        if self.mode == "stretch":
            size = (target_w, target_h)
            return ResizePlan(size, full, size, (0, 0), not within)
        if self.mode == "fill":
            if target_w * height >= target_h * width:  # relatively taller: crop top and bottom
                kept = width * target_h / target_w
                top = (height - kept) / 2
                box = (0.0, top, float(width), top + kept)
            else:
                kept = height * target_w / target_h
                left = (width - kept) / 2
                box = (left, 0.0, left + kept, float(height))
            size = (target_w, target_h)
            return ResizePlan(size, box, size, (0, 0), width > target_w and height > target_h)
        if target_w * height <= target_h * width:  # the width limits
            size = (target_w, min(target_h, _scaled(height, target_w, width)))
        else:
            size = (min(target_w, _scaled(width, target_h, height)), target_h)
        if self.mode == "pad":
            canvas = (target_w, target_h)
            offset = ((target_w - size[0]) // 2, (target_h - size[1]) // 2)
            return ResizePlan(size, full, canvas, offset, not within)
        return ResizePlan(size, full, size, (0, 0), not within)


def _scaled(side: int, numerator: int, denominator: int) -> int:
    """round(side * numerator / denominator), halves up, at least 1, in integers."""
    return max(1, (2 * side * numerator + denominator) // (2 * denominator))


@dataclass(frozen=True)
class Resized:
    """What `resize` made, and what it did to get there.

    ``data`` and ``info`` are the image to store (the input's own when ``untouched`` says why
    nothing was done). ``source_size`` is (width, height) as stored in the input;
    ``orientation`` the EXIF orientation found in it (None: none), ``turned`` whether the
    pixels were turned upright by it; ``draft`` is k when a JPEG was decoded at 1/k of its
    size (1: a full decode, or no decode); ``resized`` whether pixels were resampled.
    """

    data: bytes
    info: ImageInfo
    source_size: tuple[int, int]
    orientation: int | None
    turned: bool
    draft: int
    resized: bool
    untouched: str | None = None

    @property
    def changed(self) -> bool:
        return self.untouched is None

    def facts(self) -> dict[str, object]:
        """What was done to this image, as plain values, for a manifest."""
        facts: dict[str, object] = {
            "source": f"{self.source_size[0]}x{self.source_size[1]}",
            "output": f"{self.info.width}x{self.info.height}",
        }
        if self.orientation is not None:
            facts["orientation"] = self.orientation
        if self.untouched is not None:
            facts["untouched"] = self.untouched
            return facts
        facts["turned"] = self.turned
        facts["resized"] = self.resized
        facts["draft"] = self.draft
        facts["format"] = self.info.format
        return facts


def resize(
    data: bytes,
    info: ImageInfo,
    spec: ResizeSpec | None,
    *,
    fmt: str | None = None,
    quality: int = 100,
    background: tuple[int, int, int] = (255, 255, 255),
    apply_orientation: bool = False,
    convert: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Resized:
    """Resizes the image in ``data`` (``info`` is `probe`'s result for it) as ``spec`` says,
    turning it upright first when ``apply_orientation`` is set and its EXIF says so. With
    ``spec`` None it is only turned.

    The image is encoded as ``fmt`` ("jpeg", "png" or "webp"; None keeps a JPEG, PNG or WebP
    in its format and makes the others PNG) at ``quality`` (JPEG and WebP). As `reencode`
    does: transparency is composited onto ``background``, grey stays grey (except in WebP,
    which has no grey: it decodes to three equal channels), 16-bit samples keep their high
    byte, an animation keeps its first frame, a matching ICC profile is kept and no other
    metadata (no EXIF: what was turned is stored upright). The same input and options give
    the same bytes.

    When there is nothing to do (no spec and no turn; the image already the target size; or
    ``only_larger`` and not larger), the input is returned as it is, ``untouched`` saying why:
    the caller stores it as it would any image. With ``convert``, an image that is not already
    a ``fmt`` image is encoded as one all the same.

    Raises ImageTooLarge, before decoding, for an image of more than ``max_pixels`` pixels or
    one whose output would be; DamagedImage when its pixels cannot be decoded.
    """
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise ValueError(f"cannot encode to {fmt!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, not {quality}")
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise ValueError(f"background must be three values from 0 to 255, not {background!r}")
    orientation = exif_orientation(data) if info.format in ("jpeg", "png", "webp") else None
    turn = apply_orientation and orientation is not None and orientation != 1
    source_size = (info.width, info.height)
    width, height = (info.height, info.width) if turn and swaps_sides(orientation) else source_size
    plan = None if spec is None or width == 0 else spec.plan(width, height)
    kept = "nothing asked"  # why the pixels need no change, if they need none
    if spec is not None and plan is not None:
        if spec.only_larger and not plan.shrinks:
            kept, plan = f"not larger than {spec}", None
        elif plan.is_identity:
            kept, plan = f"already {width}x{height}", None
    # A size of 0 is an image Pillow cannot read: decoding it below says what is wrong.
    converts = convert and fmt is not None and fmt != info.format
    if plan is None and not turn and not converts and (spec is None or width > 0):
        return Resized(data, info, source_size, orientation, False, 1, False, kept)
    check_pixels(info.format, info.width, info.height, max_pixels)
    out_fmt = fmt or (info.format if info.format in OUTPUT_FORMATS else "png")
    if plan is not None:
        _check_output(plan.canvas, out_fmt, max_pixels)
    draft = 1
    if plan is not None and info.format == "jpeg":
        draft = _draft_factor(plan.reduction())
    with _decoded(data, info.format, draft, max_pixels) as (im, draft):
        pixels = flatten(im, background, grey=info.channels in (1, 2), keep_palette=False)
        icc = im.info.get("icc_profile")
        if turn:
            pixels = upright(pixels, orientation)
        if plan is not None:
            pixels = _resample(pixels, plan, (width, height), background)
        data = encode(pixels, out_fmt, quality, icc)
    return Resized(data, probe(data), source_size, orientation, turn, draft, plan is not None, None)


def _check_output(canvas: tuple[int, int], fmt: str, max_pixels: int) -> None:
    width, height = canvas
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"too large: resized, it would be {width}x{height} pixels ({width * height:,}), "
            f"more than the limit of {max_pixels:,}",
            size=width * height,
            limit=max_pixels,
            unit="pixels",
        )
    if max(canvas) > _MAX_SIDE[fmt]:
        raise ImageTooLarge(
            f"image too large: resized, it would be {canvas[0]}x{canvas[1]} pixels, and "
            f"{NAMES[fmt]} holds at most {_MAX_SIDE[fmt]:,} a side",
            size=max(canvas),
            limit=_MAX_SIDE[fmt],
            unit="pixels",
        )


def _draft_factor(reduction: float) -> int:
    """The largest DCT scaling (1/8, 1/4, 1/2) that keeps the image DRAFT_GAP times its
    target; 1 if none does."""
    for factor in (8, 4, 2):
        if factor * DRAFT_GAP <= reduction:
            return factor
    return 1


@contextmanager
def _decoded(
    data: bytes, fmt: str, draft: int, max_pixels: int
) -> Iterator[tuple[Image.Image, int]]:
    """The image's first frame, decoded (a JPEG at 1/``draft`` of its size), its pixel count
    checked before decoding; with the scale actually used."""
    # Quietly, within max_pixels whatever Pillow's own limit, Pillow's errors worded as tfr's.
    with reading(fmt, max_pixels):
        im = open_image(data, fmt)
    with im:
        with reading(fmt, max_pixels):
            check_pixels(fmt, *im.size, max_pixels)
            width, height = im.size
            if draft > 1:
                drafted = im.draft(im.mode, (width // draft, height // draft))
                draft = round(width / drafted[1][2]) if drafted is not None else 1
            im.load()
        yield im, draft


def _resample(
    pixels: Image.Image,
    plan: ResizePlan,
    planned_for: tuple[int, int],
    background: tuple[int, int, int],
) -> Image.Image:
    """The plan carried out on ``pixels``, which may be smaller than the image it was planned
    for (a reduced JPEG decode): its box is scaled to them."""
    from PIL import Image

    sx, sy = pixels.size[0] / planned_for[0], pixels.size[1] / planned_for[1]
    x0, y0, x1, y1 = plan.box
    # min(): a product may round a hair past the edge, which Pillow refuses.
    box = (x0 * sx, y0 * sy, min(x1 * sx, pixels.size[0]), min(y1 * sy, pixels.size[1]))
    resample = Image.Resampling[FILTER.upper()]
    resampled = pixels.resize(plan.size, resample, box=box, reducing_gap=REDUCING_GAP)
    if plan.canvas == plan.size:
        return resampled
    fill = luma(background) if resampled.mode == "L" else background
    canvas = Image.new(resampled.mode, plan.canvas, fill)
    canvas.paste(resampled, plan.offset)
    return canvas
