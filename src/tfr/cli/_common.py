"""What every command shares: turning library errors into messages, progress bars, sizes."""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from tfr.errors import (
    ImageTooLarge,
    LabelError,
    OutputBusy,
    OutputExists,
    RecordTooLarge,
    TfrError,
    ToleratedDamage,
    UnknownClass,
    UnlikelyClasses,
    UnsupportedImage,
    UsageError,
    WriteError,
)
from tfr.interrupts import Interrupted, stop_on_signals
from tfr.labels import load_label_map, parse_label_map
from tfr.records import MAX_RECORD_BYTES
from tfr.storage import IO_WORKERS

# Exit codes: 0 done, 1 bad data stopped the run, 2 bad usage (Click's own), 3 done but
# something was skipped or lost along the way, so a script cannot mistake it for success.
EXIT_SKIPPED = 3


# What to do about each kind of failure, as the person at the command line can.
_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, or write elsewhere",
    errno.EDQUOT: "your disk quota is used up: free some space, or write elsewhere",
    errno.EFBIG: "the file is larger than this system allows (see 'ulimit -f' and the file "
    "system's limit): write smaller files, e.g. with --max-shard-size",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "permission denied: write where you may, or ask for the right to",
    errno.EPERM: "permission denied: write where you may, or ask for the right to",
    errno.EMFILE: "too many files are open: raise the limit ('ulimit -n')",
    errno.ENFILE: "too many files are open on this system: try again later",
}


def hint(error: TfrError) -> str | None:
    """What the user can do about ``error``, in terms of this command line; None if nothing."""
    if isinstance(error, UnsupportedImage):
        return (
            "convert it to PNG or JPEG, or pass --convert-unsupported png to have tfr re-encode it"
        )
    if isinstance(error, ImageTooLarge):
        option = "--max-image-size" if error.unit == "bytes" else "--max-pixels"
        return f"if it is meant to be packed, raise the limit with {option}"
    if isinstance(error, ToleratedDamage):
        return "TensorFlow decodes it anyway: drop --strict to pack it"
    if isinstance(error, UnknownClass):
        return _labels_advice(error)
    if isinstance(error, UnlikelyClasses):
        where = (
            "if the folders under SRC are the classes, pass --label-from dir; "
            if error.in_folders
            else ""
        )
        return f"{where}--label-from none stores no labels; --label-from prefix keeps these"
    if isinstance(error, RecordTooLarge):
        return "if records this large are expected, raise the limit with --max-record-size"
    if isinstance(error, OutputBusy):
        return "wait for it to finish, or stop it"
    if isinstance(error, WriteError):
        return _WRITE_HINTS.get(error.errno or 0)
    return None


def _labels_advice(error: UnknownClass) -> str:
    """Did-you-mean for classes missing from --labels: a name given that no file has, close to
    a class the files have, is most likely a typo of it; the map is then shown mended."""
    import difflib

    from tfr.labels import format_label_map

    mended = dict(error.known)
    unused = [name for name in error.known if name not in error.used]
    guesses = []
    for cls in error.classes:
        same_case = [n for n in unused if n.casefold() == cls.casefold()]
        close = same_case or difflib.get_close_matches(cls, unused, n=1, cutoff=0.6)
        if close:
            typo = close[0]
            unused.remove(typo)
            mended[cls] = mended.pop(typo)
            why = "names are case-sensitive" if same_case else "no file has that class"
            guesses.append(f"did you mean {cls!r} for {typo!r} ({why})?")
        else:
            mended[cls] = max(mended.values(), default=-1) + 1
    text = format_label_map(mended).strip().replace("\n", ",")
    return " ".join(
        [*guesses[:10], f"add {'it' if len(error.classes) == 1 else 'them'}, e.g. --labels {text}"]
    )


def message(error: TfrError) -> str:
    """The one line that tells the user what went wrong and what to do (names in it escaped:
    a file name cannot break the line or move the cursor)."""
    from tfr.cli.text import shown

    if isinstance(error, OutputExists):
        return f"{shown(error.path)} already exists: pass --overwrite to replace it"
    text = shown(str(error))
    if isinstance(error, WriteError):
        text += "; nothing half-written was left"
    advice = hint(error)
    return f"{text}; {advice}" if advice else text


@contextlib.contextmanager
def user_errors(
    as_json: bool = False, postscript: Callable[[], str | None] = lambda: None
) -> Iterator[None]:
    """Show errors caused by the input as one line; bugs keep their traceback. With
    ``as_json``, the error is also printed on stdout as a JSON document, for scripts;
    ``postscript`` adds what the run leaves for a next one, if anything."""
    try:
        yield
    except TfrError as exc:
        text = message(exc)
        if (more := postscript()) is not None:
            text = f"{text}; {more}"
        if as_json:
            click.echo(json_text({"error": {"kind": type(exc).__name__, "message": text}}))
        if isinstance(exc, (UsageError, OutputExists)):
            raise click.UsageError(text) from None
        raise click.ClickException(text) from None


def json_text(document: object) -> str:
    """``document`` as JSON that any parser reads: no NaN or infinity (they become null), and
    names whose bytes were not UTF-8 written with escapes."""
    import json

    def finite(value: object) -> object:
        if isinstance(value, float) and (value != value or value in (float("inf"), -float("inf"))):
            return None
        if isinstance(value, dict):
            return {str(k): finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(document), indent=1, allow_nan=False)


@contextlib.contextmanager
def interruptible(say_what_was_done: Callable[[], str]) -> Iterator[None]:
    """Stop on Ctrl-C, SIGTERM or SIGHUP with one true line (what ``say_what_was_done``
    returns) and the exit status a shell expects of that signal (128 + its number)."""
    try:
        with stop_on_signals():
            yield
    except KeyboardInterrupt as exc:
        name = exc.args[0] if isinstance(exc, Interrupted) else "SIGINT"
        status = exc.exit_status if isinstance(exc, Interrupted) else 130
        click.echo(f"Interrupted ({name}): {say_what_was_done()}", err=True)
        sys.exit(status)


class Progress:
    """A tqdm bar on stderr, only when stderr is a terminal and not --quiet."""

    def __init__(self, total: int | None, unit: str, quiet: bool) -> None:
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm  # imported only when a bar is shown: it costs start-up time

            self._bar = tqdm(
                total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False
            )

    def set_total(self, total: int) -> None:
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def update(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def human_bytes(size: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as file managers and the tutorial use)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def parse_size(text: str) -> int:
    """'200MB', '1.5GiB', '4096' -> bytes; raises click.BadParameter otherwise."""
    units = {
        "": 1,
        "b": 1,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "tb": 10**12,
        "k": 10**3,
        "m": 10**6,
        "g": 10**9,
        "kib": 1 << 10,
        "mib": 1 << 20,
        "gib": 1 << 30,
        "tib": 1 << 40,
    }
    stripped = text.strip().lower().replace(" ", "")
    number = stripped.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = stripped[len(number) :]
    try:
        value = float(number) * units[unit]
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r} is not a size; write e.g. 200MB or 1GiB") from None
    if value < 1:
        raise click.BadParameter(f"{text!r}: a size must be at least 1 byte")
    return int(value)


def _record_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int:
    return MAX_RECORD_BYTES if value is None else parse_size(value)


max_record_size_option = click.option(
    "--max-record-size",
    callback=_record_size,
    metavar="SIZE",
    help=f"Refuse records longer than SIZE before reading them (default "
    f"{MAX_RECORD_BYTES >> 20} MiB): a damaged length field cannot make tfr take more memory.",
)


def _pixels(ctx: click.Context, param: click.Parameter, value: int | None) -> int:
    from tfr.images import DEFAULT_MAX_PIXELS

    return DEFAULT_MAX_PIXELS if value is None else value


max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(1),
    callback=_pixels,
    metavar="N",
    help="Decode no image larger than N pixels (default 178,956,970, where Pillow stops): "
    "a small file can claim a huge image.",
)


def _storage_options(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> dict[str, Any] | None:
    if value is None:
        return None
    import json

    try:
        options = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(options, dict):
        raise click.BadParameter('write a JSON object, e.g. \'{"endpoint_url": "http://..."}\'')
    return options


storage_options_option = click.option(
    "--storage-options",
    callback=_storage_options,
    metavar="JSON",
    help="Options for the store of a URL (s3://, gs://, ...), as fsspec takes them, e.g. "
    '\'{"endpoint_url": "http://localhost:9000"}\', or per protocol \'{"s3": {...}}\'. '
    "Credentials and endpoints are otherwise found as each store's package finds them.",
)

read_compression_option = click.option(
    "--compression",
    type=click.Choice(["auto", "none", "gzip", "zlib"]),
    default="auto",
    show_default=True,
    help="Compression of the files; 'auto' recognises it from the content.",
)

io_workers_option = click.option(
    "--io-workers",
    type=click.IntRange(1),
    metavar="N",
    help=f"Requests in flight to an object store (default {IO_WORKERS}): each waits 20-50 ms "
    "there.",
)


def use_storage_options(options: dict[str, Any] | None, paths: Iterable[str]) -> None:
    """Apply ``--storage-options`` to the stores of the URLs among ``paths``."""
    if options is None:
        return
    from tfr import storage

    protocols = {p for p in map(storage.protocol_of, paths) if p is not None}
    if not protocols:
        raise click.UsageError("--storage-options has no effect without a URL (s3://, gs://, ...)")
    storage.configure(options, protocols)


def label_map_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> dict[str, int] | None:
    """Click callback of --labels: 'cat=0,dog=1' or '@labels.txt'; bad text is a usage error."""
    if value is None:
        return None
    try:
        if value.startswith("@"):
            return load_label_map(value[1:])
        return parse_label_map(value, source="--labels")
    except LabelError as exc:
        raise click.BadParameter(str(exc)) from None
