"""``tfr unpack``: options in, one library call, a summary and every problem out."""

from __future__ import annotations

import sys
from typing import Any

import click

from tfr.cli._common import (
    EXIT_SKIPPED,
    Progress,
    human_bytes,
    interruptible,
    io_workers_option,
    label_map_option,
    max_pixels_option,
    max_record_size_option,
    read_compression_option,
    storage_options_option,
    use_storage_options,
    user_errors,
)
from tfr.cli.text import SHOWN, count, duration, first_of, more, shown
from tfr.unpack import Note, UnpackOptions, UnpackResult
from tfr.unpack import unpack as unpack_files


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILES... OUTDIR")
@click.option(
    "--image-key",
    metavar="KEY",
    help="Key of the image bytes. Default: 'image' or 'image/encoded', else the one "
    "bytes key holding an image.",
)
@click.option(
    "--name-key",
    metavar="KEY",
    help="Key of the file name. Default: 'filename' or 'image/filename'.",
)
@click.option(
    "--label-key", metavar="KEY", help="Key of the label. Default: 'label' or 'image/class/label'."
)
@click.option(
    "--by-label",
    is_flag=True,
    help="Write each image into a folder named for its label: the class name when a "
    "label map is known, else the id.",
)
@click.option(
    "--labels",
    metavar="MAP",
    callback=label_map_option,
    help="Class names for the ids: 'cat=0,dog=1' or '@labels.txt'. Default: the "
    "label map 'tfr pack' wrote beside the input, if there is one.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Do not decode the images to check them against their stored shape.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Threads decoding and writing the images (default: all cores when checking them, else 4).",
)
@click.option("--overwrite", is_flag=True, help="Replace files that exist in OUTDIR.")
@read_compression_option
@click.option(
    "--skip-corrupt",
    is_flag=True,
    help="Pass over damaged records, unpack what can be trusted, list what was "
    f"lost and exit with status {EXIT_SKIPPED}.",
)
@max_record_size_option
@max_pixels_option
@storage_options_option
@io_workers_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def unpack(
    paths: tuple[str, ...],
    image_key: str | None,
    name_key: str | None,
    label_key: str | None,
    by_label: bool,
    labels: dict[str, int] | None,
    no_verify: bool,
    workers: int | None,
    overwrite: bool,
    compression: str,
    skip_corrupt: bool,
    max_record_size: int,
    max_pixels: int,
    storage_options: dict[str, Any] | None,
    io_workers: int | None,
    quiet: bool,
) -> None:
    """Write the images stored in TFRecord FILES into the folder OUTDIR.

    FILES are files, glob patterns or a shard set's name (out.tfrecord for
    out-00000-of-00004.tfrecord, ...). Each image's stored bytes are written unchanged under
    its stored name; a name without an extension gets one from the bytes, a record without a
    name gets record-<file>-<record>. Names that would leave OUTDIR are made safe, two records
    with one name do not replace each other, and existing files are kept unless --overwrite:
    every such case is listed. Each image is decoded and checked against its stored shape.

    Exit status: 0 done, 1 damaged input, 2 bad usage, 3 done but images were skipped,
    records lost or images did not match their stored shape.

    \b
    Example:
      tfr unpack train-*.tfrecord ./images --by-label
    """
    if len(paths) < 2:
        raise click.UsageError("name the TFRecord FILES and then the OUTDIR to write into")
    *inputs, outdir = paths
    options = UnpackOptions(
        image_key=image_key,
        name_key=name_key,
        label_key=label_key,
        by_label=by_label,
        label_map=labels,
        verify=not no_verify,
        workers=workers,
        overwrite=overwrite,
        compression=compression,
        skip_corrupt=skip_corrupt,
        max_record_bytes=max_record_size,
        max_pixels=max_pixels,
        io_workers=io_workers,
    )
    use_storage_options(storage_options, paths)
    result = UnpackResult()
    with (
        interruptible(lambda: _after_interrupt(result)),
        user_errors(),
        Progress(None, "img", quiet) as bar,
    ):
        unpack_files(inputs, outdir, options, progress=bar.update, result=result)
    if not quiet:
        _summary(result)
    _problems(result)
    if result.skipped or result.lost or result.mismatches or result.unchecked:
        sys.exit(EXIT_SKIPPED)


def _after_interrupt(result: UnpackResult) -> str:
    return (
        f"{result.written:,} images were written into {result.outdir or 'the output folder'}, "
        "each whole; no partial file is left."
    )


def _summary(result: UnpackResult) -> None:
    say = click.echo
    if result.leftovers:
        who = f" ({result.leftovers_from})" if result.leftovers_from else ""
        say(
            f"Removed {count(len(result.leftovers), 'temporary file')} an interrupted "
            f"unpack{who} had left in {shown(result.outdir)}"
        )
    say(
        f"Unpacked {count(result.written, 'image')} ({human_bytes(result.bytes_written)}) from "
        f"{count(result.records, 'record')} in {count(len(result.inputs), 'file')} into "
        f"{shown(result.outdir)} in {duration(result.seconds)}"
    )
    if result.per_label:
        ordered = sorted(result.per_label.items(), key=_natural)
        counts = ", ".join(f"{shown(label)}: {number:,}" for label, number in ordered[:SHOWN])
        cut = more(len(ordered))
        say(f"  per label: {counts}" + (f", {cut}" if cut else ""))
    for path in result.label_maps:
        say(f"  label names from {shown(path)}")
    if result.renamed:
        say(f"  renamed: {len(result.renamed):,} (listed below)")


def _problems(result: UnpackResult) -> None:
    _list("Renamed", result.renamed, arrow=True)
    _list("Not as stored", result.mismatches)
    _list("Damage TensorFlow decodes anyway", result.tolerated)
    _list("Not checked", result.unchecked)
    _list("Skipped", result.skipped)
    if result.lost:
        click.echo(f"Lost to damage: {len(result.lost):,}", err=True)
        for account in result.inputs:
            for error in account.errors[:SHOWN]:
                click.echo(f"  {shown(str(error))}", err=True)
            if (cut := more(len(account.errors))) is not None:
                click.echo(f"  {cut}", err=True)
            lost = account.lost_bytes
            if account.errors and lost:
                click.echo(
                    f"  {shown(account.path)}: {human_bytes(lost)} could not be read", err=True
                )


def _list(title: str, notes: list[Note], *, arrow: bool = False) -> None:
    """The notes of one kind, at most SHOWN of them; files kept because they exist (all of
    them, when unpack runs again) are counted in one line."""
    if not notes:
        return
    click.echo(f"{title}: {len(notes):,}", err=True)
    exist = [note for note in notes if note.kind == "exists"]
    if len(exist) > 1:
        click.echo(
            f"  {count(len(exist), 'file')} already there, kept (pass --overwrite to replace "
            f"them): {first_of([n.output or '' for n in exist])}",
            err=True,
        )
        notes = [note for note in notes if note.kind != "exists"]
    for note in notes[:SHOWN]:
        if note.output is None:
            output = ""
        else:
            output = f" -> {shown(note.output)}" if arrow else f" ({shown(note.output)})"
        advice = _ADVICE.get(note.kind)
        click.echo(f"  {shown(note.where())}{output}: {shown(note.detail)}{advice or ''}", err=True)
    if (cut := more(len(notes))) is not None:
        click.echo(f"  {cut}", err=True)


# What the user can do about a note, in terms of this command's options.
_ADVICE = {
    "exists": " (pass --overwrite to replace it)",
    "no_image": "; name the image's key with --image-key",
    "unchecked": "; raise the limit with --max-pixels to check it",
}


def _natural(item: tuple[str, int]) -> tuple[int, str]:
    # Ids shown as folder names sort as numbers: 2 before 10.
    label = item[0]
    return (len(label), label) if label.isdigit() else (1 << 30, label)
