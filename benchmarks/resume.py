"""A pack killed half-way, then resumed: how long the rest takes, and whether the bytes match.

    python benchmarks/resume.py [--workdir DIR] [--count 2000] [--big-count 20000]
                                [--shards 16] [--runs 3]

Packs the large benchmark corpus (``--big-count`` copies of the ``--count`` generated images)
with ``--shards``, whole ``tfr pack`` processes: an uninterrupted run, then, in each round, a
run killed with SIGKILL once half its shards are finished and kept, and the same command with
``--resume``. The resumed run's time is set against the uninterrupted run's, and its output
compared byte for byte. Writes ``benchmarks/RESUME.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import corpus

HERE = Path(__file__).parent


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if not p.name.startswith(".")
    }


def _pack(src: Path, out: Path, shards: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tfr",
        "pack",
        str(src),
        str(out / "images.tfrecord"),
        "--label-from",
        "none",
        "--shards",
        str(shards),
        "--quiet",
        *extra,
    ]


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - started


def _kill_half_way(argv: list[str], out: Path, shards: int) -> tuple[float, int]:
    """Run ``argv`` and SIGKILL it (its whole process group) once half the shards are kept;
    the seconds it ran and the shards it had finished."""
    progress = out / ".images.tfr-progress"
    started = time.perf_counter()
    process = subprocess.Popen(argv, start_new_session=True)
    finished = 0
    while process.poll() is None:
        try:
            finished = len(json.loads(progress.read_bytes())["finished"])
        except (OSError, ValueError, KeyError):
            finished = 0
        if finished >= shards // 2:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    if finished < shards // 2:
        raise SystemExit("the run ended before half its shards were finished: use more images")
    return time.perf_counter() - started, finished


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=HERE / ".work")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--big-count", type=int, default=20000)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--report", type=Path, default=HERE / "RESUME.md")
    args = ap.parse_args()
    base = corpus.generate(args.workdir, "mixed", args.count, 0)
    big = corpus.replicate(base, args.big_count, args.workdir)
    work = args.workdir / "resume"
    full, resumed, killed_at, kept = [], [], [], []
    reference: dict[str, str] | None = None
    shutil.rmtree(work, ignore_errors=True)  # outputs of an earlier run of this script
    subprocess.run(_pack(big.path, work / "warm", args.shards), check=True)  # page cache, .pyc
    for n in range(args.runs):
        for folder in ("full", "killed"):
            shutil.rmtree(work / folder, ignore_errors=True)
        full.append(_timed(_pack(big.path, work / "full", args.shards)))
        reference = reference or _digests(work / "full")
        assert _digests(work / "full") == reference
        seconds, finished = _kill_half_way(
            _pack(big.path, work / "killed", args.shards), work / "killed", args.shards
        )
        killed_at.append(seconds)
        kept.append(finished)
        resumed.append(_timed(_pack(big.path, work / "killed", args.shards, "--resume")))
        same = _digests(work / "killed") == reference
        print(
            f"round {n + 1}: full {full[-1]:.2f} s, killed after {seconds:.2f} s with "
            f"{finished} shards, resumed in {resumed[-1]:.2f} s, identical: {same}"
        )
        if not same:
            raise SystemExit("the resumed output differs from the uninterrupted one")
    ratio = statistics.median(resumed) / statistics.median(full)
    load = os.getloadavg()[0]
    lines = [
        "# Resuming a pack killed half-way",
        "",
        f"Made by `python benchmarks/resume.py` on {time.strftime('%Y-%m-%d')}: "
        f"{big.count:,} images ({big.total_bytes / 1e9:.2f} GB, in the page cache), "
        f"`tfr pack --shards {args.shards}`, whole processes, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end. Each round: an uninterrupted run; a run killed "
        f"(SIGKILL) once {args.shards // 2} of its {args.shards} shards were kept; the same "
        "command with `--resume`, whose output is compared byte for byte with the first.",
        "",
        "| run | median s | runs s |",
        "|---|---|---|",
        f"| uninterrupted | {statistics.median(full):.2f} | "
        f"{', '.join(f'{s:.2f}' for s in full)} |",
        f"| killed after | {statistics.median(killed_at):.2f} | "
        f"{', '.join(f'{s:.2f}' for s in killed_at)} (shards kept: "
        f"{', '.join(map(str, kept))}) |",
        f"| resumed | {statistics.median(resumed):.2f} | "
        f"{', '.join(f'{s:.2f}' for s in resumed)} |",
        "",
        f"The resumed run takes **{100 * ratio:.0f}%** of an uninterrupted run's time "
        f"(target: at most 60%), and its output is byte-identical in every round.",
        "",
    ]
    args.report.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
