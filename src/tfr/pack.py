"""Pack a folder of images into TFRecord files of ``tf.train.Example`` records.

A pack runs in four steps. The output's lock is taken (and what an interrupted run left is
cleaned up). The folder is listed and the plan made (:mod:`tfr.plan`): every image, its label
and its shard are known before any image is read. Each shard is then written as a task: its
images read, prepared (:func:`tfr.prepare.prepare`, on a pool of threads when images are
decoded, as Pillow's codecs release the GIL) and written in order into one file under a
temporary name. Last, the files, the label map and the manifest are committed together
(:mod:`tfr.output`). The same folder and options give the same bytes.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tfr import names, storage
from tfr.errors import (
    ImageError,
    ImageTooLarge,
    LabelError,
    TfrError,
    UnknownClass,
    UnlikelyClasses,
    UsageError,
    error_from_json,
    error_to_json,
)
from tfr.filelist import read_list
from tfr.index import index_path, scan
from tfr.labels import LABEL_SOURCES, label_map_bytes
from tfr.layouts import LAYOUTS
from tfr.listing import Found, Listing, list_folder, list_named
from tfr.manifest import Manifest
from tfr.names import label_map_path, manifest_path, shard_name
from tfr.output import Output, Recovery, Written, open_output
from tfr.parallel import ByteBudget, default_workers, ordered_map
from tfr.plan import Entry, Plan, ShardTask, label_map_for, make_plan
from tfr.prepare import ImageOptions, Prepared, prepare
from tfr.progress import Finished, Progress, plan_listing
from tfr.records import iter_records
from tfr.shards import Shard, ShardFile, manifest_of, record_size, starts_new_shard
from tfr.splits import SplitSpec, find_split_folders, split_of, top_level
from tfr.stats import ImageStats

__all__ = [
    "KEY_SETS",
    "MAX_IMAGE_BYTES",
    "OutputOptions",
    "PackOptions",
    "PackResult",
    "Part",
    "Skipped",
    "check_options",
    "index_file",
    "load_image",
    "pack",
    "pack_manifest",
    "plan_pack",
    "plan_parts",
    "split_names",
]

KEY_SETS = tuple(LAYOUTS)
# An image file larger than this is refused by its size before it is read (a sparse 3 GiB
# file named .jpg would otherwise be read whole). Readers refuse records over 256 MiB by
# default too (tfr.records.MAX_RECORD_BYTES), so a larger image would not read back.
MAX_IMAGE_BYTES = 256 << 20
# Images read and prepared but not yet written, across all workers: memory does not grow with
# the number of cores times the largest image.
IN_FLIGHT_BYTES = 256 << 20
# With fewer images than this, a pack runs in one process by default: starting a pool of
# processes takes about a tenth of a second.
PROCESSES_FROM = 1000
# Pixels being decoded at once, across all workers, counted as bytes of decoded image.
DECODING_BYTES = 1 << 30


@dataclass(frozen=True)
class OutputOptions:
    """How the output is laid out: one file, or shards, compressed or not."""

    shards: int | None = None  # deal the images over this many files
    max_shard_bytes: int | None = None  # or start a new file before one passes this size
    compression: str | None = None  # "gzip" or "zlib", as TensorFlow's compression_type
    compression_level: int | None = None
    overwrite: bool = False
    index: bool = False  # an index file beside each file, FILE.idx, published with them
    tfds: bool = False  # TFDS's metadata in the output's folder, published with the files


@dataclass(frozen=True)
class PackOptions:
    """How to pack; the defaults are the tutorial's behaviour, done properly."""

    labels: dict[str, int] | None = None  # None: ids given to the classes found, sorted
    # Where a file's class comes from: "prefix" (name up to the first _), "dir" (first folder),
    # "parent" (its folder) or "none". None: "prefix", refused if it gives ~one class per image.
    label_from: str | None = None
    image: ImageOptions = field(default_factory=ImageOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    on_error: str = "fail"  # or "skip"
    names: str = "base"  # stored: "base" (the file's name) or "relative" (its path in src)
    files_from: str | None = None  # a list of the images (.txt, .csv, .jsonl), not a walk
    split: SplitSpec | None = None  # train, validation, test ...: by hash or by folders
    detect_splits: bool = True  # without a split asked: split by folders all named as splits
    shuffle: bool = False
    seed: int = 0
    resume: bool = False  # keep the shards an interrupted run of the same pack finished
    workers: int | None = None  # threads; None: one per core when decoding, else one
    processes: int | None = None  # for --shards N; None: one per core for large packs
    io_workers: int | None = None  # requests in flight to a store; None: storage.IO_WORKERS
    max_image_bytes: int = MAX_IMAGE_BYTES

    @property
    def label_source(self) -> str:
        return self.label_from or "prefix"

    def recorded(self) -> dict[str, Any]:
        """The options that decide the output's bytes, as the manifest keeps them."""
        recorded: dict[str, Any] = {
            "label_from": self.label_source,
            "names": self.names,
            "files_from": self.files_from,
            "image": self.image.recorded(),
            "shards": self.output.shards,
            "max_shard_bytes": self.output.max_shard_bytes,
            "compression": self.output.compression,
            "compression_level": self.output.compression_level,
            "on_error": self.on_error,
            "shuffle": self.shuffle,
            "seed": self.seed if self.shuffle else None,
            "labels": self.labels,
            "max_image_bytes": self.max_image_bytes,
        }
        if self.split is not None:  # only then: a manifest without splits reads as it did
            recorded["split"] = self.split.describe()
        return recorded


class Skipped(NamedTuple):
    """A file left out, and why; ``error`` says what kind of problem it was."""

    path: str
    reason: str
    error: TfrError | None = None


@dataclass
class PackResult:
    """What a pack did, for the summary. Filled as the run goes, so a caller that passed one
    in can say what was done if the run is interrupted."""

    shards: list[Shard] = field(default_factory=list)
    images: int = 0
    found: int = 0  # images the plan held
    per_class: Counter[str] = field(default_factory=Counter)  # class name -> images written
    stats: ImageStats = field(default_factory=ImageStats)  # sizes and shapes, per class too
    splits: dict[str, PackResult] = field(default_factory=dict)  # each split's, when split
    label_map: dict[str, int] | None = None
    label_map_file: str | None = None
    manifest_file: str | None = None
    indexes: list[str] = field(default_factory=list)  # an index file per shard, if asked
    tfds_files: list[str] = field(default_factory=list)  # TFDS's metadata, if asked
    bytes_in: int = 0  # of the images written, as read
    bytes_out: int = 0  # of the output files, on disk
    reencoded: int = 0
    resized: int = 0
    rotated: int = 0  # images whose EXIF says to turn them (TensorFlow does not)
    turned: int = 0  # of those, stored upright
    animated: list[str] = field(default_factory=list)
    tolerated: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # packed anyway
    not_images: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # links, pipes: (path, what)
    shared_names: int = 0  # images stored under a name another one has too
    skipped: list[Skipped] = field(default_factory=list)
    recovered: Recovery | None = None  # what an interrupted earlier run had left
    kept: int = 0  # finished shards kept for --resume by a run that stopped before its commit
    resumed: int = 0  # shards an interrupted run had finished, kept (--resume)
    dropped: list[str] = field(default_factory=list)  # parts it had left that were not kept
    published: bool = False  # the output is complete under its final names
    replaced: bool = False  # an earlier output under this name was replaced
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """What this run counted, for the progress file (see :mod:`tfr.progress`)."""
        return {
            "images": self.images,
            "bytes_in": self.bytes_in,
            "reencoded": self.reencoded,
            "resized": self.resized,
            "rotated": self.rotated,
            "turned": self.turned,
            "animated": self.animated,
            "tolerated": [[path, list(defects)] for path, defects in self.tolerated],
            "skipped": [
                [s.path, s.reason, None if s.error is None else error_to_json(s.error)]
                for s in self.skipped
            ],
            "per_class": dict(self.per_class),
            "stats": self.stats.dump(),
        }

    @classmethod
    def from_json(cls, counts: dict[str, Any]) -> PackResult:
        result = cls()
        result.images = int(counts["images"])
        result.bytes_in = int(counts["bytes_in"])
        result.reencoded = int(counts["reencoded"])
        result.resized = int(counts["resized"])
        result.rotated = int(counts["rotated"])
        result.turned = int(counts["turned"])
        result.animated = [str(p) for p in counts["animated"]]
        result.tolerated = [(str(p), tuple(d)) for p, d in counts["tolerated"]]
        result.skipped = [
            Skipped(str(p), str(r), None if e is None else error_from_json(e))
            for p, r, e in counts["skipped"]
        ]
        result.per_class = Counter({str(k): int(v) for k, v in counts["per_class"].items()})
        result.stats = ImageStats.load(counts["stats"])
        return result

    def merge(self, other: PackResult) -> None:
        """Add what another run of shard tasks did (a worker process's), after this one's."""
        self.images += other.images
        self.bytes_in += other.bytes_in
        self.reencoded += other.reencoded
        self.resized += other.resized
        self.rotated += other.rotated
        self.turned += other.turned
        self.animated += other.animated
        self.tolerated += other.tolerated
        self.skipped += other.skipped
        self.per_class.update(other.per_class)
        self.stats.merge(other.stats)

    def count(self, entry: Entry, prepared: Prepared | ImageError, on_error: str) -> bool:
        """Account for one image, in plan order; True if it goes into the output. An image
        that could not be prepared stops the run (``on_error="fail"``) or is listed."""
        if isinstance(prepared, ImageError):
            if on_error == "fail":
                raise prepared
            self.skipped.append(Skipped(entry.path, prepared.reason, prepared))
            return False
        self.images += 1
        self.bytes_in += prepared.size_in
        self.reencoded += prepared.reencoded
        self.resized += prepared.resized
        self.rotated += prepared.orientation not in (None, 1)
        self.turned += prepared.turned
        if prepared.animated:
            self.animated.append(entry.path)
        if prepared.tolerated:
            self.tolerated.append((entry.path, prepared.tolerated))
        if entry.cls is not None:
            self.per_class[entry.cls] += 1
        p = prepared
        self.stats.add(entry.cls, p.size, p.height, p.width, p.channels, p.format, p.animated)
        return True


def pack(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: PackOptions | None = None,
    *,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[], None] | None = None,
    result: PackResult | None = None,
) -> PackResult:
    """Pack the images under ``src`` into ``out`` (or its shards), all or nothing.

    ``on_start`` is called with the number of images found, ``on_image`` after each one is
    done: that is how a progress bar follows along. Raises :class:`TfrError` subclasses for bad
    input; with ``on_error="skip"`` damaged images are listed in the result instead.
    """
    options = options or PackOptions()
    result = result if result is not None else PackResult()
    started = time.perf_counter()
    src, out = os.fspath(src), os.fspath(out)
    check_options(options, out)
    if not storage.isdir(src):
        raise UsageError(
            f"{src} is not a folder" if storage.exists(src) else f"{src} does not exist"
        )
    with open_output(out, overwrite=options.output.overwrite) as output:
        result.recovered = output.recovered
        splits = split_names(src, options)
        if splits is not None:
            output.add_members([names.split_output(out, split) for split in splits])
            if options.split is None:  # found: recorded as if asked
                options = dataclasses.replace(options, split=SplitSpec(folders=True))
        output.refuse_existing()
        parts = plan_parts(src, out, options, result, splits)
        label_map = parts[0].plan.label_map  # one for every split
        if options.output.tfds:
            from tfr.tfds_metadata import class_names

            class_names(label_map)  # refused now, not once every image is packed
        map_text = None
        if label_map is not None:
            map_text = label_map_bytes(label_map)
            output.check_label_map(map_text)
        progresses = []
        for part in parts:
            key = {"options": options.recorded(), "split": part.split}
            progress = Progress(part.out, key, plan_listing(part.plan), temporaries=out)
            progress.take_over(options.resume, _whole)
            result.resumed += len(progress.finished)
            result.dropped += progress.dropped
            progresses.append(progress)
        if on_start:
            on_start(result.found)
        try:
            _write_and_commit(src, parts, progresses, options, result, output, on_image, map_text)
        except BaseException:
            # Finished shards stay for --resume, however the run ends before its commit; a
            # signal held back during the commit is raised once it is done: then nothing is.
            result.kept = 0 if result.published else sum(len(p.finished) for p in progresses)
            if result.published:
                for progress in progresses:
                    progress.clear()
            raise
        for progress in progresses:
            progress.clear()
    result.bytes_out = sum(shard.bytes for shard in result.shards)
    result.seconds = time.perf_counter() - started
    return result


def _write_and_commit(
    src: str,
    parts: list[Part],
    progresses: list[Progress],
    options: PackOptions,
    result: PackResult,
    output: Output,
    on_image: Callable[[], None] | None,
    map_text: bytes | None,
) -> None:
    """Write every shard of every part, then publish them with the label map and the
    manifests (the output's last: the commit point)."""
    out = output.path
    written: list[list[Written]] = []
    for part, progress in zip(parts, progresses, strict=True):
        counts = PackResult(found=len(part.plan.entries))
        writer = _Writer(src, output, part.plan, options, counts, on_image, progress, part.out)
        written.append(writer.write_all())
        result.merge(counts)
        if part.split is not None:
            counts.shards = [Shard(f.final, f.records, f.bytes) for f in written[-1]]
            result.splits[part.split] = counts
    if not result.images:
        first = result.skipped[0]
        raise TfrError(
            f"nothing was written: all {result.found} images were skipped; "
            f"the first: {first.path}: {first.reason}"
        )
    files = [file for files in written for file in files]
    label_map = result.label_map = parts[0].plan.label_map
    result.label_map_file = None if label_map is None else label_map_path(out)
    result.manifest_file = manifest_path(out)
    result.shards = [Shard(f.final, f.records, f.bytes) for f in files]
    extra: list[Written] = []
    if options.output.index:
        extra += [index_file(output, f) for f in files]
        result.indexes = [f.final for f in extra]
    if options.output.tfds:
        metadata = _tfds_files(output, parts, written, options, result)
        result.tfds_files = [f.final for f in metadata]
        extra += metadata
    if parts[0].split is None:
        manifest = pack_manifest(files, parts[0].plan, options, result, out)
    else:
        for part, part_files in zip(parts, written, strict=True):
            assert part.split is not None
            counts = result.splits[part.split]
            recorded = {**options.recorded(), "split": part.split}
            split_manifest = dataclasses.replace(
                pack_manifest(part_files, part.plan, options, counts, out, recorded),
                part_of=os.path.basename(manifest_path(out)),
            )
            extra.append(output.write_file(manifest_path(part.out), split_manifest.dump()))
        manifest = _dataset_manifest(files, parts, options, result, out)
    try:
        output.commit([*files, *extra], manifest, map_text)
    finally:
        # A signal during the commit is raised once it is complete: say so truly.
        result.published = output.committed
        result.replaced = output.replaced


def _tfds_files(
    output: Output,
    parts: list[Part],
    written: list[list[Written]],
    options: PackOptions,
    result: PackResult,
) -> list[Written]:
    """TFDS's metadata of the files written (one split, "train", when the output has none),
    waiting to be published with them."""
    from tfr.tfds_metadata import ImageKinds, SplitInfo, tfds_metadata

    splits = [
        SplitInfo(
            part.split or "train",
            [os.path.basename(f.final) for f in files],
            [f.records for f in files],
            sum(f.bytes for f in files),
        )
        for part, files in zip(parts, written, strict=True)
    ]
    stored = result.stats.total
    kinds = ImageKinds(
        frozenset(stored.formats), frozenset(stored.channels), frozenset(stored.animated)
    )
    stem = os.path.basename(names.split_output_name(output.path)[0])
    metadata = tfds_metadata(
        stem,
        splits,
        layout=options.image.layout,
        labels=parts[0].plan.label_map,
        images=kinds,
        compression=options.output.compression,
    )
    folder = os.path.dirname(output.path)
    return [output.write_file(storage.join(folder, name), data) for name, data in metadata.items()]


def _dataset_manifest(
    files: list[Written], parts: list[Part], options: PackOptions, result: PackResult, out: str
) -> Manifest:
    """The output's manifest when it is split: every split's files, and each split's counts."""
    manifest = pack_manifest(files, parts[0].plan, options, result, out)
    splits = {name: _stats(counts) for name, counts in result.splits.items()}
    return dataclasses.replace(
        manifest,
        sharded=True,
        stats={**manifest.stats, "splits": splits},
        splits=tuple(p.split for p in parts if p.split),
    )


def index_file(output: Output, written: Written) -> Written:
    """The index of a file written, found by one pass over its record headers (which also
    checks them), waiting to be published with it: an index never describes another file."""
    found = scan(written.temporary)
    if len(found) != written.records:  # only a bug could cause this: stop before publishing
        raise TfrError(f"{written.final}: {len(found)} records found, {written.records} written")
    return output.write_file(index_path(written.final), found.text())


def check_options(options: PackOptions, out: str) -> None:
    """UsageError for options that cannot work together, or not for the output ``out``."""
    if options.image.layout not in LAYOUTS:
        raise UsageError(
            f"unknown key set {options.image.layout!r}: use one of {', '.join(LAYOUTS)}"
        )
    if options.label_source not in LABEL_SOURCES:
        raise UsageError(
            f"unknown label source {options.label_from!r}: use one of {', '.join(LABEL_SOURCES)}"
        )
    if options.names not in ("base", "relative"):
        raise UsageError(f"unknown way to name images {options.names!r}: use base or relative")
    if options.on_error not in ("fail", "skip"):
        raise UsageError(f"unknown error policy {options.on_error!r}: use fail or skip")
    if options.output.shards is not None and options.output.max_shard_bytes is not None:
        raise UsageError("choose either a number of shards or a maximum shard size, not both")
    if options.output.shards is not None and options.output.shards < 1:
        raise UsageError("the number of shards must be at least 1")
    if options.output.index and options.output.compression is not None:
        raise UsageError(
            "an index needs uncompressed files: compressed records have no byte offsets "
            "to look up; leave out the compression or the index"
        )
    if options.output.index and storage.is_url(out):
        raise UsageError(
            f"index files are written beside local outputs only: pack to a folder, or run "
            f"`tfr index` on a copy of {out}"
        )
    if options.output.tfds and options.output.compression is not None:
        raise UsageError(
            "TFDS reads only uncompressed TFRecord files: leave out the compression or the "
            "TFDS metadata"
        )


class Part(NamedTuple):
    """One set of files a pack writes: the whole output, or one of its splits."""

    split: str | None
    out: str  # the output its files are named after
    plan: Plan


def plan_pack(src: str, options: PackOptions, result: PackResult) -> Plan:
    """List the folder and plan the pack (one set, no splits), before any image is read;
    files that cannot be packed stop it, or are listed in ``result`` as skipped with
    ``on_error="skip"``."""
    listing = _listing(src, options, result)
    plan = _plan(listing.images, options, result, options.output.shards, listing.images)
    _check_found(src, result, listing)
    return plan


def split_names(src: str, options: PackOptions) -> list[str] | None:
    """The splits of the pack, before anything is listed: those asked for, the folders of
    ``src`` when asked (or when they are all named as splits), or None for one set."""
    spec = options.split
    if spec is not None and not spec.folders:
        return spec.names
    if options.files_from is not None:
        if spec is not None:
            raise UsageError(
                "splits by folder take the images from the folders; a list names them: "
                "give split fractions, or leave out the list"
            )
        return None
    if spec is None:
        return find_split_folders(src) if options.detect_splits else None
    folders, loose = top_level(src)
    if loose:
        raise UsageError(
            f"{storage.join(src, loose[0])} is not in a split folder: splitting by folders "
            f"takes the images in {storage.join(src, '<split>')}/ only"
        )
    if not folders:
        raise UsageError(f"{src} has no folders to take splits from (train/, test/, ...)")
    return folders


def plan_parts(
    src: str, out: str, options: PackOptions, result: PackResult, splits: list[str] | None
) -> list[Part]:
    """The plan of each set the pack writes: one, or one per split, all labelled by one
    label map (a class missing from a split keeps its id)."""
    if splits is None:
        return [Part(None, out, plan_pack(src, options, result))]
    listing = Listing()
    groups: dict[str, list[Found]] = {}
    if options.split is not None and options.split.fractions:
        listing = _listing(src, options, result)
        groups = {name: [] for name in splits}
        for image in listing.images:
            groups[split_of(image.relative, options.split.fractions, options.seed)].append(image)
    else:
        for name in splits:
            folder = _listing(storage.join(src, name), options, result)
            groups[name] = folder.images
            listing.images += folder.images
            listing.not_images += folder.not_images
    labels = label_map_for(listing.images, options.labels, options.label_source)
    shards = _shares(options.output.shards, {name: len(group) for name, group in groups.items()})
    parts = []
    for name, found in groups.items():
        plan = _plan(found, options, result, shards[name], listing.images, labels)
        parts.append(Part(name, names.split_output(out, name), plan))
    _check_found(src, result, listing)
    return parts


def _shares(shards: int | None, images: dict[str, int]) -> dict[str, int | None]:
    """``shards`` shared among splits by their number of images, at least one each."""
    if shards is None:
        return dict.fromkeys(images)
    total = sum(images.values()) or 1
    return {name: max(1, round(shards * count / total)) for name, count in images.items()}


def _listing(src: str, options: PackOptions, result: PackResult) -> Listing:
    """The images of ``src`` (or of the list); what cannot be packed stops the pack or is
    listed as skipped, and what is not an image is noted in ``result``."""
    if options.files_from is not None:
        listing = list_named(
            src, read_list(options.files_from), options.label_source, options.files_from
        )
    else:
        listing = list_folder(src, options.label_source)
    result.not_images += listing.not_images
    result.left_out += listing.left_out
    skip = options.on_error == "skip"
    error: TfrError
    for path, why in listing.unreadable:
        error = ImageError(why, path)
        if not skip:
            raise error
        result.skipped.append(Skipped(path, why, error))
    for path in listing.unclassified:
        error = LabelError(f"{path}: it is not in a class folder")
        if not skip:
            raise error
        result.skipped.append(Skipped(path, "it is not in a class folder", error))
    return listing


def _plan(
    found: list[Found],
    options: PackOptions,
    result: PackResult,
    shards: int | None,
    everything: list[Found],
    labels: dict[str, int] | None = None,
) -> Plan:
    """The plan of one set of the images ``found`` (``everything``: those of every split);
    classes that are not in the label map stop the pack or are skipped."""
    plan = make_plan(
        found,
        labels=options.labels if labels is None else labels,
        label_from=options.label_source,
        shuffle=options.shuffle,
        seed=options.seed,
        shards=shards,
        max_shard_bytes=options.output.max_shard_bytes,
        names=options.names,
    )
    result.shared_names += plan.shared_names()
    result.found += len(plan.entries)
    classes, images = len(plan.label_map or ()), len(everything)
    if options.label_from is None and options.labels is None and _one_class_each(images, classes):
        in_folders = any("/" in image.relative for image in everything)
        raise UnlikelyClasses(images, classes, in_folders)
    if plan.unknown:
        used = {image.cls for image in everything if image.cls is not None}
        error = UnknownClass(plan.unknown, plan.label_map or {}, used)
        if options.on_error != "skip":
            raise error
        for cls, paths in plan.unknown.items():
            result.skipped += [
                Skipped(p, f"its class {cls!r} is not in the label map", error) for p in paths
            ]
    return plan


def _check_found(src: str, result: PackResult, listing: Listing) -> None:
    """Stop a pack that found nothing to write."""
    if result.found:
        return
    if result.skipped:
        first = result.skipped[0]
        raise TfrError(
            f"nothing was written: all images were skipped; the first: {first.path}: {first.reason}"
        )
    others = f" ({len(listing.not_images)} other files)" if listing.not_images else ""
    raise UsageError(f"no images found in {src}{others}")


def _one_class_each(images: int, classes: int) -> bool:
    """Whether the classes found are nearly one per image: 90% or more, of 10 images or more
    (a handful of files named cat.jpg, dog.jpg is a fair set of classes)."""
    return images >= 10 and classes * 10 >= images * 9


class _Writer:
    """Runs the plan's shard tasks, each into one file, and keeps each finished shard (see
    :mod:`tfr.progress`) until the commit."""

    def __init__(
        self,
        src: str,
        output: Output | None,
        plan: Plan | None,
        options: PackOptions,
        result: PackResult,
        on_image: Callable[[], None] | None,
        progress: Progress | None = None,
        name: str | None = None,
    ) -> None:
        self.src = src
        self.output = output
        # The output the files are named after: the output's, or one of its splits.
        self.name = name if name is not None else output.path if output is not None else ""
        self.plan = plan
        self.options = options
        self.result = result
        self.on_image = on_image
        self.progress = progress
        if storage.is_url(src):
            # Each request to an object store waits 20-50 ms: tens of them in flight.
            self.workers = storage.io_workers(options.io_workers)
        else:
            self.workers = options.workers or (default_workers() if options.image.decodes else 1)
        self.decoding = ByteBudget(DECODING_BYTES) if self.workers > 1 else None

    def write_all(self) -> list[Written]:
        assert self.plan is not None and self.output is not None
        tasks = self.plan.tasks()
        out = self.name
        if self.plan.max_shard_bytes is not None:
            chain = self._write_chain(tasks[0], self.plan.max_shard_bytes)
            return [f._replace(final=shard_name(out, i, len(chain))) for i, f in enumerate(chain)]
        total = len(tasks)
        finals = [shard_name(out, i, total) if self.plan.sharded else out for i in range(total)]
        kept = self.progress.finished if self.progress is not None else {}
        files: dict[int, Written] = {}
        counted: dict[int, PackResult] = {}
        for number in kept:
            files[number] = self._kept(number, finals[number])
            counted[number] = PackResult.from_json(kept[number].counts)
            self._progress(len(tasks[number].entries))
        todo = [n for n in range(total) if n not in kept]

        def done(number: int, written: Written, result: PackResult) -> None:
            files[number] = self._keep(number, written, len(tasks[number].entries), result)
            counted[number] = result

        processes = self._processes(len(todo))
        if processes > 1:
            from tfr.pack_processes import run_in_processes

            run_in_processes(
                self.src,
                [tasks[n] for n in todo],
                [finals[n] for n in todo],
                [self._temporary(number) or self.output.reserve() for number in todo],
                self.options,
                processes,
                max(1, self.workers // processes),
                lambda index, written, result: done(todo[index], written, result),
                self.on_image,
            )
        else:
            for number in todo:
                result = PackResult()
                temporary = self._temporary(number)
                written = self.write_file(tasks[number], finals[number], temporary, result)
                done(number, written, result)
        for number in range(total):  # in shard order, as one process counts
            self.result.merge(counted[number])
        return [files[number] for number in range(total)]

    def _processes(self, tasks: int) -> int:
        """Worker processes for ``tasks`` shard tasks: as asked; by default one per core when
        there are enough images for the start of a pool (a tenth of a second) to pay."""
        asked = self.options.processes
        if asked is not None:
            return max(1, min(asked, tasks))
        if tasks < 2 or self.result.found < PROCESSES_FROM:
            return 1
        return min(default_workers(), tasks)

    def write_file(
        self,
        task: ShardTask,
        final: str,
        temporary: str | None = None,
        result: PackResult | None = None,
    ) -> Written:
        """One shard task: its images read, prepared and written in order into one file (at
        ``temporary`` when the output reserved it for another process), counted in
        ``result`` (this writer's by default)."""
        output = self.output if temporary is None else None
        shard = ShardFile(output, final, *self._compression(), temporary=temporary)
        try:
            for _, prepared in self._prepared(task.entries, result or self.result):
                shard.write(prepared.payload)
            return shard.finish()
        finally:
            shard.close()

    def _write_chain(self, task: ShardTask, max_bytes: int) -> list[Written]:
        """Images in order, a new file started whenever the next record would take the
        current one past ``max_bytes``. Names are given once the total is known. Shards an
        interrupted run finished are kept, and the chain goes on after them."""
        assert self.output is not None
        files: list[Written] = []
        kept = self.progress.finished if self.progress is not None else {}
        start = 0
        while len(files) in kept:
            finished = kept[len(files)]
            files.append(self._kept(len(files), self.name))
            self.result.merge(PackResult.from_json(finished.counts))
            self._progress(finished.consumed)
            start += finished.consumed
        shard = self._chain_file(len(files))
        counts, taken = PackResult(), 0  # what the shard being filled counted, and took
        try:
            for entry, outcome in self._loaded(task.entries[start:]):
                if isinstance(outcome, Prepared):
                    size = record_size(outcome.payload)
                    if size > max_bytes:
                        raise UsageError(
                            f"the maximum shard size ({max_bytes:,} bytes) is smaller than one "
                            f"image: {entry.path} takes {size:,} bytes as a record"
                        )
                    if starts_new_shard(shard, size, max_bytes):
                        files.append(self._keep(len(files), shard.finish(), taken, counts))
                        self.result.merge(counts)
                        counts, taken = PackResult(), 0
                        shard = self._chain_file(len(files))
                    shard.write(outcome.payload)
                counts.count(entry, outcome, self.options.on_error)  # a skipped one: taken here
                taken += 1
            files.append(self._keep(len(files), shard.finish(), taken, counts))
            self.result.merge(counts)
            return files
        finally:
            shard.close()

    def _temporary(self, number: int) -> str | None:
        """Where shard ``number`` is written before the commit, when not at a temporary of
        the output's: in an object store, straight at its part's key (an object appears only
        once its upload is complete, so the part is whole or not there, and needs no copy)."""
        assert self.output is not None
        if self.progress is None or self.output.local:
            return None
        return names.part_path(self.name, number)

    def _chain_file(self, number: int) -> ShardFile:
        assert self.output is not None
        temporary = self._temporary(number)
        output = self.output if temporary is None else None
        return ShardFile(output, self.name, *self._compression(), temporary=temporary)

    def _keep(self, number: int, written: Written, consumed: int, counts: PackResult) -> Written:
        if self.progress is None:
            return written
        return self.progress.keep(number, written, consumed, counts.to_json())

    def _kept(self, number: int, final: str) -> Written:
        assert self.progress is not None
        return self.progress.written(number, final)

    def _progress(self, images: int) -> None:
        if self.on_image is not None:
            for _ in range(images):
                self.on_image()

    def _compression(self) -> tuple[str | None, int | None]:
        return self.options.output.compression, self.options.output.compression_level

    def _loaded(self, entries: Iterable[Entry]) -> Iterable[tuple[Entry, Prepared | ImageError]]:
        """Each image prepared (or the error that it cannot be), in order."""
        entries = list(entries)
        cost = _size_on_disk if self.workers > 1 else None
        done = ordered_map(self._load, entries, self.workers, cost=cost, budget=IN_FLIGHT_BYTES)
        for entry, outcome in zip(entries, done, strict=True):
            if self.on_image:
                self.on_image()
            yield entry, outcome

    def _prepared(
        self, entries: Iterable[Entry], result: PackResult
    ) -> Iterable[tuple[Entry, Prepared]]:
        """Each image prepared, in order, and counted in ``result``; those that cannot be
        are skipped or stop the run."""
        for entry, outcome in self._loaded(entries):
            counted = result.count(entry, outcome, self.options.on_error)
            if counted and isinstance(outcome, Prepared):
                yield entry, outcome

    def _load(self, entry: Entry) -> Prepared | ImageError:
        return load_image(entry, self.options, memory=self.decoding)


def load_image(
    entry: Entry, options: PackOptions, *, memory: ByteBudget | None = None
) -> Prepared | ImageError:
    """Read one planned image and prepare it; the error naming it when it cannot be. A
    thread, a process or a Beam worker may run it: it touches nothing but the image."""
    try:
        data = read_image(entry.path, options.max_image_bytes, entry.size)
        return prepare(data, entry.name, options.image, entry.label, entry.cls, memory=memory)
    except ImageError as exc:
        return exc.with_path(entry.path)
    except OSError as exc:
        return ImageError(f"cannot read it: {exc.strerror or exc}", entry.path)


def _whole(finished: Finished) -> bool:
    """Whether a part an interrupted run kept is as recorded: its size, and every record
    read back with its CRCs."""
    try:
        if storage.size(finished.part) != finished.bytes:
            return False
        return sum(1 for _ in iter_records(finished.part)) == finished.records
    except (OSError, TfrError):
        return False


def _size_on_disk(entry: Entry) -> int:
    if entry.size is not None:
        return entry.size
    try:
        return os.stat(entry.path).st_size
    except OSError:
        return 0  # the worker will say why it cannot read it


# Not blocking: a FIFO named as an image must not hang the run.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_image(path: str, limit: int = MAX_IMAGE_BYTES, size: int | None = None) -> bytes:
    """The bytes of an image file (a path or a URL), refused by its size (ImageTooLarge) before
    it is read, and never read past the size it had when opened (a file growing meanwhile is
    refused). ``size`` is the size a store's listing gave."""
    if storage.is_url(path):
        return _read_stored(path, limit, size)
    fd = os.open(path, _READ_FLAGS)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise ImageError("it is not a regular file")
        size = before.st_size
        if size > limit:
            raise ImageTooLarge(
                f"the file has {size:,} bytes, more than the limit of {limit:,}",
                size=size,
                limit=limit,
            )
        data = os.read(fd, size)
        if len(data) != size:  # a short read: read on, but never past the size at the start
            pieces = [data]
            got = len(data)
            while got < size and (piece := os.read(fd, size - got)):
                pieces.append(piece)
                got += len(piece)
            data = b"".join(pieces)
        after = os.fstat(fd)
        if len(data) != size or (after.st_size, after.st_mtime_ns) != (size, before.st_mtime_ns):
            raise ImageError("it changed while it was read; pack it once it is complete")
        return data
    finally:
        os.close(fd)


def _read_stored(path: str, limit: int, size: int | None) -> bytes:
    if size is None:  # named by a list: one request, never more than the limit and a byte
        head: bytes = storage.read_range(path, 0, limit + 1)
        if len(head) > limit:
            raise ImageTooLarge(
                f"the file has more than the limit of {limit:,} bytes", size=len(head), limit=limit
            )
        return head
    if size > limit:
        raise ImageTooLarge(
            f"the file has {size:,} bytes, more than the limit of {limit:,}", size=size, limit=limit
        )
    data: bytes = storage.read_range(path, 0, size)
    if len(data) != size:
        raise ImageError("it changed while it was read; pack it once it is complete")
    return data


def pack_manifest(
    files: list[Written],
    plan: Plan,
    options: PackOptions,
    result: PackResult,
    out: str,
    recorded: dict[str, Any] | None = None,
) -> Manifest:
    """The manifest of a pack (or of a split of it): its files, the label map of ``out``,
    the options (``recorded``, by default ``options.recorded()``) and counts."""
    return manifest_of(
        files,
        sharded=plan.sharded,
        compression=options.output.compression,
        label_map=plan.label_map,
        label_map_file=None if plan.label_map is None else label_map_path(out),
        options=options.recorded() if recorded is None else recorded,
        stats=_stats(result),
    )


def _stats(result: PackResult) -> dict[str, Any]:
    """Counts for the manifest: what went in, what was left out (no clock, so the manifest's
    bytes depend only on the input)."""
    return {
        "images": result.images,
        "skipped": len(result.skipped),
        "reencoded": result.reencoded,
        "resized": result.resized,
        "rotated": result.rotated,
        "turned": result.turned,
        "animated": len(result.animated),
        "tolerated": len(result.tolerated),
        "bytes_in": result.bytes_in,
        "per_class": dict(sorted(result.per_class.items())),
        "stored": result.stats.summary(),
    }
