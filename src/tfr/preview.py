"""Contact sheets: a grid of thumbnails of the images in TFRecord files, to look at them.

Each tile shows one record's image with its label and name below it. The records shown are
the first ones, or a random sample drawn with a seed (the same seed, the same sample), and
may be limited to some labels. A record that cannot be shown (a CRC that fails, a payload
that is no Example, no image in it, an image that does not decode) gets a placeholder tile
saying why, where the thumbnail would be: damage is shown, never a reason to stop.

Records are read in order, as a stream, so plain and compressed files alike can be looked at;
a sample is drawn in one pass (reservoir sampling), holding only the records it keeps.
"""

from __future__ import annotations

import functools
import os
import random
import textwrap
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf.message import DecodeError

from tfr.atomic import atomic_output
from tfr.errors import ImageError, RecordError, TfrError
from tfr.features import FeatureKind, decode_example
from tfr.labels import LabelNames
from tfr.layouts import LABEL_KEYS, LABEL_TEXT_KEYS, NAME_KEYS, find_image_key
from tfr.names import expand_paths
from tfr.records import Buffer, iter_records

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "NothingToShow",
    "PreviewOptions",
    "PreviewResult",
    "Tile",
    "contact_sheet",
    "preview",
    "select",
]

_PAD = 6
_BACKGROUND = (32, 32, 36)
_TILE_BACKGROUND = (52, 52, 58)
_TEXT = (235, 235, 235)
_DIM_TEXT = (170, 170, 178)
_DAMAGED = (120, 30, 36)
_FONT_SIZE = 12

Features = dict[str, tuple[FeatureKind, list[Any]]]


class NothingToShow(TfrError, ValueError):
    """No record of the files is to be shown: there are none, or none has the labels asked."""


@dataclass(frozen=True)
class PreviewOptions:
    """What a contact sheet shows and how.

    ``columns`` x ``rows`` tiles at most, each thumbnail fitting in ``tile`` x ``tile``
    pixels. ``labels``: show only records whose label (its id, or its name in the label map)
    is one of these. ``sample``: a random sample drawn with ``seed`` rather than the first
    records. The keys are found as ``tfr unpack`` finds them unless given. ``label_map``
    names the ids; by default the map ``tfr pack`` wrote beside the files is used.
    """

    columns: int = 8
    rows: int = 4
    tile: int = 160
    labels: Collection[str] = ()
    sample: bool = False
    seed: int = 0
    image_key: str | None = None
    label_key: str | None = None
    name_key: str | None = None
    label_map: Mapping[str, int] | None = None
    compression: str | None = "auto"

    def __post_init__(self) -> None:
        if self.columns < 1 or self.rows < 1:
            raise ValueError("a contact sheet needs at least one column and one row")
        if self.tile < 32:
            raise ValueError("a tile must be at least 32 pixels")


@dataclass
class Tile:
    """One record on the sheet: where it is, its label and name, and ``problem``, why it is
    shown as a placeholder (None when its image is shown): ``damaged`` tells damage (to the
    record or its image) from a record that holds no image."""

    path: str
    index: int
    offset: int
    label: str | None = None
    name: str | None = None
    problem: str | None = None
    damaged: bool = False
    image: bytes | None = field(default=None, repr=False)
    thumbnail: Image.Image | None = field(default=None, repr=False)


@dataclass
class PreviewResult:
    """What a sheet shows: its tiles in order, how many records were read and matched, and
    whether every record was read (``complete``)."""

    path: str | None
    tiles: list[Tile]
    records_read: int
    matched: int
    complete: bool
    width: int = 0
    height: int = 0

    @property
    def damaged(self) -> list[Tile]:
        return [tile for tile in self.tiles if tile.damaged]


def _one(features: Features, key: str) -> Any:
    kind, values = features.get(key, ("", []))
    if len(values) != 1:
        return None
    return values[0].decode("utf-8", "replace") if kind == "bytes" else values[0]


def _describe(
    path: str, index: int, offset: int, data: Buffer, options: PreviewOptions, labels: LabelNames
) -> tuple[Tile, set[str]]:
    """The tile of an intact record, and the names its label matches a filter by."""
    tile = Tile(path, index, offset)
    try:
        features = decode_example(data, typed=True)
    except DecodeError:
        tile.problem, tile.damaged = f"not a tf.train.Example ({len(data)} bytes)", True
        return tile, set()
    name_keys = [options.name_key] if options.name_key else NAME_KEYS
    names = [_one(features, key) for key in name_keys]
    tile.name = next((str(name) for name in names if name is not None), None)
    label_keys = [options.label_key] if options.label_key else LABEL_KEYS
    label = next((v for v in (_one(features, key) for key in label_keys) if v is not None), None)
    matches: set[str] = set()
    if label is not None:
        matches.add(str(label))
        text = None
        if isinstance(label, int):
            known = labels.of(path)
            text = known.get(label) if known else None
            for label_key, text_key in LABEL_TEXT_KEYS.items():
                if text is None and _one(features, label_key) == label:
                    text = _one(features, text_key)
        if text is not None:
            matches.add(str(text))
        tile.label = str(label) if text is None else f"{text} ({label})"
    key = options.image_key or find_image_key(features)
    kind, values = features.get(key, ("", [])) if key else ("", [])
    if key is None or kind != "bytes" or not values:
        where = f"no bytes in {key!r}; " if key else ""
        tile.problem = f"{where}keys: {', '.join(sorted(features)) or 'none'}"
    else:
        tile.image = bytes(values[0])
    return tile, matches


def _damaged(error: RecordError) -> Tile:
    return Tile(error.path, error.index, error.offset, problem=error.detail, damaged=True)


def _candidates(
    paths: Iterable[str], options: PreviewOptions, counts: list[int]
) -> Iterator[tuple[Tile, set[str]]]:
    """Every record of the files in order, as a tile and its label's names; damaged records
    too, as tiles with a problem. ``counts[0]`` counts the records read."""
    labels = LabelNames(options.label_map)
    for path in paths:
        errors: list[RecordError] = []
        records = iter_records(path, compression=options.compression, on_corrupt=errors.append)
        for record in records:
            # The reader reports damage before it yields the record after it: keep the order.
            while errors:
                counts[0] += 1
                yield _damaged(errors.pop(0)), set()
            counts[0] += 1
            yield _describe(path, record.index, record.offset, record.data, options, labels)
        while errors:
            counts[0] += 1
            yield _damaged(errors.pop(0)), set()


def select(files: Iterable[str | os.PathLike[str]], options: PreviewOptions) -> PreviewResult:
    """The tiles of a sheet, thumbnails made: the first records that match, or a sample."""
    paths = expand_paths(files)
    wanted = set(options.labels)
    room = options.columns * options.rows
    counts = [0]
    matched = 0
    chosen: list[tuple[int, Tile]] = []
    rng = random.Random(options.seed)
    seen: set[str] = set()
    complete = True
    for number, (tile, matches) in enumerate(_candidates(paths, options, counts)):
        seen |= matches
        if wanted and not wanted & matches:
            continue
        matched += 1
        if not options.sample:
            if len(chosen) == room:
                complete = False  # one more than fits: the sheet shows the first ones
                break
            chosen.append((number, tile))
        elif len(chosen) < room:
            chosen.append((number, tile))
        else:
            # Reservoir sampling: each record is kept with probability room / matched.
            slot = rng.randrange(matched)
            if slot < room:
                chosen[slot] = (number, tile)
    if not chosen:
        if counts[0] == 0:
            raise NothingToShow(f"{', '.join(paths)}: no records")
        known = ", ".join(sorted(seen)) or "none"
        raise NothingToShow(
            f"no record has the label {', '.join(sorted(wanted))} (labels seen: {known})"
        )
    tiles = [tile for _, tile in sorted(chosen, key=lambda item: item[0])]
    for tile in tiles:
        if tile.image is not None:
            try:
                tile.thumbnail = _thumbnail(tile.image, options.tile)
            except ImageError as error:
                tile.problem, tile.damaged = error.reason, True
            tile.image = None  # only the thumbnail is drawn: let the bytes go
    return PreviewResult(None, tiles, counts[0], matched, complete)


@functools.cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has one bitmap font, of one size
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _thumbnail(data: bytes, side: int) -> Image.Image:
    """The image scaled to fit ``side`` x ``side``, in RGBA; ImageError if it does not decode."""
    from PIL import Image

    from tfr.images import sniff
    from tfr.images.formats import NAMES
    from tfr.images.info import damaged
    from tfr.images.pillow import decoded, pillow_errors

    image_format = sniff(data)
    if image_format is None:
        raise ImageError("the bytes are not an image")
    image = decoded(data, image_format, fit=side)
    try:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            image = image.point(lambda value: value / 257).convert("L")
        elif image.mode == "F":
            image = image.convert("L")
        image = image.convert("RGBA")
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    except pillow_errors() as exc:
        name = NAMES.get(image_format, image_format)
        raise damaged(name, f"its pixels cannot be decoded ({exc})") from exc
    return image


def contact_sheet(result: PreviewResult, options: PreviewOptions, title: str) -> Image.Image:
    """Draw the tiles of ``result`` in a grid under ``title``; sets its width and height."""
    from PIL import Image, ImageDraw

    font = _font(_FONT_SIZE)
    line = _FONT_SIZE + 4
    side = options.tile
    columns = min(options.columns, len(result.tiles))
    rows = -(-len(result.tiles) // columns)
    cell_w, cell_h = side, side + 2 * line
    width = _PAD + columns * (cell_w + _PAD)
    top = _PAD + line + _PAD
    height = top + rows * (cell_h + _PAD)
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((_PAD, _PAD), _fit(draw, title, font, width - 2 * _PAD), font=font, fill=_TEXT)
    for number, tile in enumerate(result.tiles):
        x = _PAD + (number % columns) * (cell_w + _PAD)
        y = top + (number // columns) * (cell_h + _PAD)
        thumbnail = tile.thumbnail
        if thumbnail is not None:
            draw.rectangle([x, y, x + side - 1, y + side - 1], fill=_TILE_BACKGROUND)
            at = (x + (side - thumbnail.width) // 2, y + (side - thumbnail.height) // 2)
            sheet.paste(thumbnail, at, thumbnail)
        else:
            colour = _DAMAGED if tile.damaged else _TILE_BACKGROUND
            draw.rectangle([x, y, x + side - 1, y + side - 1], fill=colour)
            headline = "damaged" if tile.damaged else "no image"
            draw.text((x + 6, y + 6), headline, font=_font(_FONT_SIZE + 2), fill=_TEXT)
            per_line = max(8, side // 7)
            reason = textwrap.wrap(tile.problem or "", per_line)[: max(1, (side - 30) // line)]
            for row, text in enumerate(reason):
                draw.text(
                    (x + 6, y + 28 + row * line),
                    _fit(draw, text, font, side - 12),
                    font=font,
                    fill=_TEXT,
                )
        where = f"{os.path.basename(tile.path)} #{tile.index}"
        first = tile.label if tile.label is not None else where
        if tile.name is not None:
            second = tile.name
        else:
            second = where if tile.label is not None else f"at byte {tile.offset:,}"
        draw.text((x, y + side + 2), _fit(draw, first, font, side), font=font, fill=_TEXT)
        draw.text(
            (x, y + side + 2 + line), _fit(draw, second, font, side), font=font, fill=_DIM_TEXT
        )
    result.width, result.height = width, height
    return sheet


def _title(paths: list[str], result: PreviewResult, options: PreviewOptions) -> str:
    source = os.path.basename(paths[0]) + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
    count = len(result.tiles)
    labelled = f" labelled {', '.join(sorted(options.labels))}" if options.labels else ""
    if result.complete and count == result.matched:
        return f"{source}: all {count} records{labelled}"
    if options.sample:
        return f"{source}: {count} of {result.matched:,} records{labelled}, seed {options.seed}"
    return f"{source}: the first {count} records{labelled}"


def preview(
    files: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    options: PreviewOptions | None = None,
    *,
    overwrite: bool = False,
) -> PreviewResult:
    """Draw a contact sheet of the records of ``files`` and write it to ``output`` as PNG.

    The PNG appears under its name only once complete, and an existing file is replaced only
    with ``overwrite``. Raises :class:`NothingToShow` when no record is to be shown.
    """
    options = options or PreviewOptions()
    paths = expand_paths(files)
    result = select(paths, options)
    sheet = contact_sheet(result, options, _title(paths, result, options))
    with atomic_output(output, overwrite=overwrite) as file:
        sheet.save(file, "PNG", optimize=True)  # atomic_output syncs it before naming it
    result.path = os.fspath(output)
    return result
