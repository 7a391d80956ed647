"""``tfr index``: write, or check, the index file beside each TFRecord file."""

from __future__ import annotations

import os

import click

from tfr.cli._common import user_errors
from tfr.cli.text import count
from tfr.index import IndexFileError, check_index, index_path, write_index
from tfr.names import expand_paths


@click.command("index")
@click.argument("files", nargs=-1, required=True)
@click.option("--overwrite", is_flag=True, help="Replace index files that exist.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing: check that every file has an index that matches it (exit 1 if not).",
)
def index_files(files: tuple[str, ...], overwrite: bool, check: bool) -> None:
    """Write FILE.idx beside each TFRecord FILE: a line per record, '<offset> <length>',
    the index NVIDIA DALI and the tfrecord package read, and what tfr.Dataset uses for
    random access.

    FILES are paths, globs or a shard set's name (out.tfrecord for its shards). Only plain
    files can be indexed: a GZIP or ZLIB file has no byte offsets. An index that exists is
    left alone when it matches its file, and stops the run when it does not (the file
    changed since), unless --overwrite.
    """
    if check and overwrite:
        raise click.UsageError("--check writes nothing: drop --overwrite")
    with user_errors():
        paths = expand_paths(files)
        if check:
            _check(paths)
            return
        for path in paths:
            target = index_path(path)
            if os.path.lexists(target) and not overwrite:
                try:
                    found = check_index(path)
                except IndexFileError as error:
                    raise click.ClickException(f"{error}; pass --overwrite to rebuild it") from None
                click.echo(f"{target}: up to date ({count(len(found), 'record')}), left as it is")
                continue
            written = write_index(path, overwrite=overwrite)
            click.echo(f"wrote {target} ({count(len(written), 'record')})")


def _check(paths: list[str]) -> None:
    """Report on every file, then fail if any index is missing or does not match."""
    bad = 0
    for path in paths:
        target = index_path(path)
        if not os.path.lexists(target):
            click.echo(f"{path}: no index ({target} is missing)", err=True)
            bad += 1
            continue
        try:
            found = check_index(path)
        except IndexFileError as error:
            click.echo(str(error), err=True)
            bad += 1
            continue
        click.echo(f"{target}: up to date ({count(len(found), 'record')})")
    if bad:
        raise click.ClickException(
            f"{bad} of {len(paths)} files have no index that matches them; "
            "run tfr index on them to write one"
        )
