"""The per-image work of pack --resize, over a folder: the process resize_bench.py times.

    python benchmarks/resize_driver.py tfr|pillow|tf SRC OUT [--workers N]

Reads every file of SRC, resizes it so its shorter side is 256, encodes it as JPEG at quality
90 and writes it to OUT under the same stem. Imports only what its tool needs, so each
process pays for its own start-up and nothing more.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SIDE = 256
QUALITY = 90


def drive(impl: str, src: Path, out: Path, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.iterdir() if not p.name.startswith("."))
    if impl == "tf":
        _drive_tf(files, out)
        return
    from PIL import Image

    from tfr.images import probe
    from tfr.images.orientation import exif_orientation
    from tfr.images.resizing import FILTER, ResizeSpec, resize
    from tfr.parallel import ordered_map

    spec = ResizeSpec(shorter_side=SIDE)

    def with_tfr(path: Path) -> bool:
        data = path.read_bytes()
        result = resize(data, probe(data), spec, fmt="jpeg", quality=QUALITY)
        (out / (path.stem + ".jpg")).write_bytes(result.data)
        return (exif_orientation(data) or 1) != 1  # counted, as pack's summary will

    def with_pillow(path: Path) -> bool:
        with Image.open(path) as im:
            im.load()
            rgb = im if im.mode in ("RGB", "L") else im.convert("RGB")
            size = spec.plan(*im.size).size  # the very size tfr makes
            small = rgb.resize(size, Image.Resampling[FILTER.upper()])
        small.save(out / (path.stem + ".jpg"), "JPEG", quality=QUALITY, subsampling="4:2:0")
        return False

    job = with_tfr if impl == "tfr" else with_pillow
    sum(ordered_map(job, files, workers))


def _drive_tf(files: list[Path], out: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def convert(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        shape = tf.cast(tf.shape(image)[:2], tf.int64)
        short = tf.reduce_min(shape)
        # Shorter side SIDE, the other rounded half up: the sizes tfr makes.
        size = tf.maximum((2 * shape * SIDE + short) // (2 * short), 1)
        small = tf.image.resize(image, tf.cast(size, tf.int32))
        pixels = tf.cast(tf.clip_by_value(tf.round(small), 0, 255), tf.uint8)
        return tf.io.encode_jpeg(pixels, quality=QUALITY)

    for path in files:
        (out / (path.stem + ".jpg")).write_bytes(convert(tf.constant(str(path))).numpy())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("impl", choices=("tfr", "pillow", "tf"))
    ap.add_argument("src", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    drive(args.impl, args.src, args.out, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
