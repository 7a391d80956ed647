"""tfr preview: a contact sheet of the images in records, damage shown, never a crash."""

from __future__ import annotations

import io
import runpy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from PIL import Image, ImageChops, ImageStat

import handmade
import imagegen
from tfr.cli import cli
from tfr.features import write_examples
from tfr.index import scan
from tfr.preview import NothingToShow, PreviewOptions, select

ROOT = Path(__file__).resolve().parent.parent
TILE = 64
# The layout the sheet is drawn with: a 6-pixel margin, a title line, captions of two lines.
PAD, LINE = 6, 16
TOP = PAD + LINE + PAD
DAMAGED = (120, 30, 36)


def run(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def solid(
    colour: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (40, 30)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def pets(count: int) -> list[dict[str, Any]]:
    """Records whose image colour tells them apart: record n is (n * 5, 100, 200)."""
    return [
        {
            "image": solid((n * 5, 100, 200)),
            "filename": f"{'cat' if n % 2 == 0 else 'dog'}_{n}.png",
            "label": n % 2,
        }
        for n in range(count)
    ]


def picture(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def centre(sheet: Image.Image, number: int, columns: int) -> Any:
    x = PAD + (number % columns) * (TILE + PAD) + TILE // 2
    y = TOP + (number // columns) * (TILE + 2 * LINE + PAD) + TILE // 2
    return sheet.getpixel((x, y))


def corner(sheet: Image.Image, number: int, columns: int) -> Any:
    """A pixel near a tile's bottom right, which no placeholder text reaches."""
    x = PAD + (number % columns) * (TILE + PAD) + TILE - 3
    y = TOP + (number // columns) * (TILE + 2 * LINE + PAD) + TILE - 3
    return sheet.getpixel((x, y))


def flip(path: Path, record: int) -> None:
    """Damage the middle of a record's payload: its CRC fails."""
    index = scan(path)
    data = bytearray(path.read_bytes())
    data[index.offsets[record] + index.lengths[record] // 2] ^= 0xFF
    path.write_bytes(data)


def test_the_sheet_is_a_grid_of_the_first_records(tmp_path: Path) -> None:
    write_examples(tmp_path / "pets.tfrecord", pets(12))
    out = tmp_path / "sheet.png"
    result = run("preview", tmp_path / "pets.tfrecord", "-o", out, "--grid", "4x2", "--tile", TILE)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}: 8 records, 286 x 232 px\n"
    sheet = picture(out)
    assert sheet.size == (PAD + 4 * (TILE + PAD), TOP + 2 * (TILE + 2 * LINE + PAD))
    assert [centre(sheet, n, 4) for n in range(8)] == [(n * 5, 100, 200) for n in range(8)]


def test_a_sheet_of_fewer_records_shrinks_to_them(tmp_path: Path) -> None:
    write_examples(tmp_path / "few.tfrecord", pets(3))
    out = tmp_path / "sheet.png"
    assert run("preview", tmp_path / "few.tfrecord", "-o", out, "--tile", TILE).exit_code == 0
    assert picture(out).size == (PAD + 3 * (TILE + PAD), TOP + TILE + 2 * LINE + PAD)


def test_damaged_records_are_shown_as_such(tmp_path: Path) -> None:
    path = tmp_path / "pets.tfrecord"
    records = pets(6)
    cut = imagegen.jpeg_bytes(64, 48)
    records[2]["image"] = cut[: len(cut) // 2]  # an intact record, its image cut
    records[4] = {"filename": "notes.txt", "label": 0}  # no image at all
    write_examples(path, records)
    flip(path, 1)
    out = tmp_path / "sheet.png"
    result = run("preview", path, "-o", out, "--grid", "6x1", "--tile", TILE)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"wrote {out}: 6 records (2 damaged, 1 without an image, shown as such), 426 x 130 px\n"
    )
    sheet = picture(out)
    assert corner(sheet, 1, 6) == DAMAGED and corner(sheet, 2, 6) == DAMAGED
    assert corner(sheet, 4, 6) != DAMAGED
    assert [centre(sheet, n, 6) for n in (0, 3, 5)] == [
        (0, 100, 200),
        (15, 100, 200),
        (25, 100, 200),
    ]
    tiles = select([path], PreviewOptions(columns=6, rows=1, tile=TILE)).tiles
    assert [(t.damaged, t.problem) for t in tiles] == [
        (False, None),
        (True, "the payload's CRC does not match"),
        (True, tiles[2].problem),
        (False, None),
        (False, "keys: filename, label"),
        (False, None),
    ]
    assert "JPEG" in str(tiles[2].problem) and tiles[1].offset == scan(path).offsets[1]


def test_a_cut_file_shows_its_last_record_as_damaged(tmp_path: Path) -> None:
    path = tmp_path / "cut.tfrecord"
    write_examples(path, pets(3))
    path.write_bytes(path.read_bytes()[:-10])
    tiles = select([path], PreviewOptions(tile=TILE)).tiles
    assert [t.damaged for t in tiles] == [False, False, True]
    assert "the file ends inside the record" in str(tiles[2].problem)


def test_a_label_filter_takes_ids_or_names(tmp_path: Path) -> None:
    path = tmp_path / "pets.tfrecord"
    write_examples(path, pets(10))
    (tmp_path / "pets.labels.txt").write_text("cat=0\ndog=1\n")
    by_name = select([path], PreviewOptions(labels={"dog"}, tile=TILE)).tiles
    by_id = select([path], PreviewOptions(labels={"1"}, tile=TILE)).tiles
    assert [t.name for t in by_name] == [f"dog_{n}.png" for n in (1, 3, 5, 7, 9)]
    assert [t.name for t in by_id] == [t.name for t in by_name]
    assert {t.label for t in by_name} == {"dog (1)"}
    result = run("preview", path, "-o", tmp_path / "x.png", "--label", "bird")
    assert result.exit_code == 1
    assert result.output == "Error: no record has the label bird (labels seen: 0, 1, cat, dog)\n"
    assert not (tmp_path / "x.png").exists()


def test_a_sample_is_drawn_from_every_record_and_repeats_with_its_seed(tmp_path: Path) -> None:
    path = tmp_path / "many.tfrecord"
    write_examples(path, pets(40))
    options = PreviewOptions(columns=4, rows=1, tile=TILE, sample=True, seed=1)
    first = select([path], options)
    again = select([path], options)
    other = select([path], PreviewOptions(columns=4, rows=1, tile=TILE, sample=True, seed=2))
    picked = [t.index for t in first.tiles]
    assert picked == [t.index for t in again.tiles] == sorted(picked)
    assert picked != [t.index for t in other.tiles]
    assert first.records_read == 40 and first.matched == 40
    assert max(picked) >= 4  # not simply the first ones
    plain = select([path], PreviewOptions(columns=4, rows=1, tile=TILE))
    assert [t.index for t in plain.tiles] == [0, 1, 2, 3]
    assert plain.records_read == 5  # one past the sheet's room: not the whole file
    assert not plain.complete


def test_a_sample_keeps_each_record_with_equal_chance(tmp_path: Path) -> None:
    path = tmp_path / "few.tfrecord"
    write_examples(path, pets(8))
    counts = [0] * 8
    for seed in range(400):
        options = PreviewOptions(columns=2, rows=1, tile=TILE, sample=True, seed=seed)
        for tile in select([path], options).tiles:
            counts[tile.index] += 1
    # Each record is kept with probability 2/8: 100 of 400 draws, give or take.
    assert all(60 < count < 140 for count in counts), counts


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (imagegen.encode(Image.new("L", (20, 20), 90), "JPEG"), (90, 90, 90)),
        (imagegen.encode(Image.new("RGBA", (20, 20), (200, 10, 10, 255)), "PNG"), (200, 10, 10)),
        (imagegen.encode(Image.new("I;16", (20, 20), 128 * 257), "PNG"), (128, 128, 128)),
        (imagegen.encode(Image.new("RGB", (20, 20), (10, 200, 10)), "GIF"), (10, 200, 10)),
        (imagegen.encode(Image.new("RGB", (20, 20), (10, 10, 200)), "BMP"), (10, 10, 200)),
        (imagegen.encode(Image.new("CMYK", (20, 20), (0, 0, 0, 0)), "JPEG"), (255, 255, 255)),
        (imagegen.animated_gif(20, 20), None),
        (imagegen.webp_bytes(20, 20), None),
        (imagegen.palette_png_with_transparency(20, 20), None),
    ],
)
def test_every_kind_of_image_gets_a_thumbnail(
    tmp_path: Path, data: bytes, expected: tuple[int, int, int] | None
) -> None:
    write_examples(tmp_path / "one.tfrecord", [{"image": data, "label": 0}])
    out = tmp_path / "sheet.png"
    result = run("preview", tmp_path / "one.tfrecord", "-o", out, "--tile", TILE)
    assert result.exit_code == 0, result.output
    assert result.output.endswith("1 record, 76 x 130 px\n")
    pixel = centre(picture(out), 0, 1)
    if expected is not None:
        assert all(abs(a - b) <= 3 for a, b in zip(pixel, expected, strict=True)), pixel


def test_a_compressed_file_can_be_looked_at(tmp_path: Path) -> None:
    write_examples(tmp_path / "z.tfrecord", pets(2), compression="gzip")
    out = tmp_path / "sheet.png"
    result = run("preview", tmp_path / "z.tfrecord", "-o", out, "--tile", TILE)
    assert result.exit_code == 0, result.output
    assert centre(picture(out), 1, 2) == (5, 100, 200)


def test_an_existing_sheet_is_replaced_only_when_asked(tmp_path: Path) -> None:
    write_examples(tmp_path / "p.tfrecord", pets(2))
    out = tmp_path / "sheet.png"
    out.write_bytes(b"mine")
    result = run("preview", tmp_path / "p.tfrecord", "-o", out)
    assert result.exit_code == 2 and "already exists" in result.output
    assert out.read_bytes() == b"mine"
    assert run("preview", tmp_path / "p.tfrecord", "-o", out, "--overwrite").exit_code == 0
    with Image.open(out) as image:
        assert image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tfrecord", "sheet.png"]


def test_nothing_to_show_writes_nothing(tmp_path: Path) -> None:
    write_examples(tmp_path / "empty.tfrecord", [])
    result = run("preview", tmp_path / "empty.tfrecord", "-o", tmp_path / "s.png")
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path}/empty.tfrecord: no records\n"
    assert [p.name for p in tmp_path.iterdir()] == ["empty.tfrecord"]
    with pytest.raises(NothingToShow):
        select([tmp_path / "empty.tfrecord"], PreviewOptions())


@pytest.mark.parametrize("grid", ["8", "0x3", "axb", "4x"])
def test_a_bad_grid_is_a_usage_error(tmp_path: Path, grid: str) -> None:
    result = run("preview", "x.tfrecord", "-o", tmp_path / "s.png", "--grid", grid)
    assert result.exit_code == 2
    assert f"{grid!r} is not COLUMNSxROWS; write e.g. 8x4" in result.output


def test_the_sheet_in_the_docs_is_what_its_script_draws(tmp_path: Path) -> None:
    script = runpy.run_path(str(ROOT / "docs" / "make_preview.py"))
    result = script["make"](tmp_path / "preview.png")
    drawn = picture(tmp_path / "preview.png")
    committed = picture(ROOT / "docs" / "preview.png")
    assert drawn.size == committed.size == (result.width, result.height)
    assert [t.damaged for t in result.tiles] == [False] * 3 + [True] + [False] * 6
    # Fonts may render a little differently from one Pillow to another; the layout may not.
    difference = ImageStat.Stat(ImageChops.difference(drawn, committed)).mean
    assert max(difference) < 2, difference


def test_a_label_is_named_by_the_text_beside_it_in_each_layout(tmp_path: Path) -> None:
    # As unpack and inspect read them: TensorFlow's converters' keys, and a plain "label/text".
    path = tmp_path / "texts.tfrecord"
    image = handmade.jpeg(8, 8)
    write_examples(
        path,
        [
            {"image/encoded": image, "image/class/label": 2, "image/class/text": "owl"},
            {"image": image, "label": 5, "label/text": "fox"},
        ],
    )
    tiles = select([path], PreviewOptions(columns=2, rows=1, tile=TILE)).tiles
    assert [tile.label for tile in tiles] == ["owl (2)", "fox (5)"]
