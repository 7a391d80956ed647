"""``tfr preview``: a contact sheet of the images in TFRecord files, as a PNG."""

from __future__ import annotations

import re

import click

import tfr.preview
from tfr.cli._common import label_map_option, read_compression_option, user_errors
from tfr.cli.text import count


def _grid(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise click.BadParameter(f"{value!r} is not COLUMNSxROWS; write e.g. 8x4")
    return int(match[1]), int(match[2])


@click.command("preview")
@click.argument("files", nargs=-1, required=True)
@click.option("-o", "--output", required=True, metavar="SHEET.png", help="The PNG file to write.")
@click.option(
    "--grid",
    default="8x4",
    show_default=True,
    callback=_grid,
    metavar="COLSxROWS",
    help="Tiles across and down: at most COLS x ROWS records are shown.",
)
@click.option(
    "--tile",
    type=click.IntRange(32, 1024),
    default=160,
    show_default=True,
    metavar="PX",
    help="Size of a thumbnail's square, in pixels.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="LABEL",
    help="Show only records with this label: its id or its name (repeat for several).",
)
@click.option(
    "--sample",
    is_flag=True,
    help="A random sample of the records (reads them all) instead of the first ones.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of --sample's random draw."
)
@click.option("--image-key", metavar="KEY", help="Key of the image. Default: found as unpack does.")
@click.option(
    "--label-key", metavar="KEY", help="Key of the label. Default: 'label' or 'image/class/label'."
)
@click.option(
    "--name-key",
    metavar="KEY",
    help="Key of the file name. Default: 'filename' or 'image/filename'.",
)
@click.option(
    "--labels",
    "label_map",
    callback=label_map_option,
    metavar="MAP",
    help="Names of the label ids, 'cat=0,dog=1' or '@labels.txt'. Default: the map "
    "tfr pack wrote beside the files, if any.",
)
@read_compression_option
@click.option("--overwrite", is_flag=True, help="Replace SHEET.png if it exists.")
def preview(
    files: tuple[str, ...],
    output: str,
    grid: tuple[int, int],
    tile: int,
    labels: tuple[str, ...],
    sample: bool,
    seed: int,
    image_key: str | None,
    label_key: str | None,
    name_key: str | None,
    label_map: dict[str, int] | None,
    compression: str,
    overwrite: bool,
) -> None:
    """Draw a contact sheet of the images in the TFRecord FILES: a grid of thumbnails, each
    with its label and name, written to SHEET.png.

    FILES are paths, globs or a shard set's name, plain or compressed. A record that cannot
    be shown (damaged, no image in it, an image that does not decode) gets a placeholder
    tile saying why.
    """
    options = tfr.preview.PreviewOptions(
        columns=grid[0],
        rows=grid[1],
        tile=tile,
        labels=frozenset(labels),
        sample=sample,
        seed=seed,
        image_key=image_key,
        label_key=label_key,
        name_key=name_key,
        label_map=label_map,
        compression=None if compression == "none" else compression,
    )
    with user_errors():
        result = tfr.preview.preview(files, output, options, overwrite=overwrite)
    shown = len(result.tiles)
    damaged = len(result.damaged)
    missing = sum(1 for t in result.tiles if t.problem is not None and not t.damaged)
    notes = []
    if damaged:
        notes.append(f"{damaged} damaged")
    if missing:
        notes.append(f"{missing} without an image")
    extra = f" ({', '.join(notes)}, shown as such)" if notes else ""
    click.echo(
        f"wrote {output}: {count(shown, 'record')}{extra}, {result.width} x {result.height} px"
    )
