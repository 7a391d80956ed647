"""pack, inspect and unpack against a real S3-compatible server on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import handmade
from clirun import run


def folder(s3: Any) -> str:
    for i in range(6):
        s3.pipe_file(f"bucket/img/cat/{i}.jpg", handmade.jpeg(10 + i, 8))
        s3.pipe_file(f"bucket/img/dog/{i}.png", handmade.png(5 + i, 4, seed=i))
    s3.invalidate_cache()
    return "s3://bucket/img"


def test_pack_inspect_unpack_through_s3(s3: Any, tmp_path: Path) -> None:
    src = folder(s3)
    out = "s3://bucket/out/train.tfrecord"
    result = run("pack", src, out, "--label-from", "dir", "--shards", "3")
    assert result.exit_code == 0, result.output
    s3.invalidate_cache()
    assert sorted(s3.ls("bucket/out")) == [
        "bucket/out/train-00000-of-00003.tfrecord",
        "bucket/out/train-00001-of-00003.tfrecord",
        "bucket/out/train-00002-of-00003.tfrecord",
        "bucket/out/train.labels.txt",
        "bucket/out/train.manifest.json",
    ]
    assert s3.list_multipart_uploads("bucket") == []
    inspected = run("inspect", out)
    assert inspected.exit_code == 0 and "12" in inspected.output
    unpacked = run("unpack", out, tmp_path / "back", "--by-label", "--no-verify")
    assert unpacked.exit_code == 0, unpacked.output
    assert sorted(
        p.relative_to(tmp_path / "back").as_posix() for p in (tmp_path / "back").rglob("*.*")
    ) == sorted([f"cat/{i}.jpg" for i in range(6)] + [f"dog/{i}.png" for i in range(6)])


def test_the_command_line_reads_credentials_and_endpoint_from_the_environment(
    s3: Any, tmp_path: Path
) -> None:
    src = folder(s3)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfr",
            "pack",
            src,
            "s3://bucket/o/x.tfrecord",
            "--label-from",
            "dir",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    s3.invalidate_cache()
    assert s3.exists("bucket/o/x.manifest.json")


def test_splits_from_folders_in_a_bucket_and_resumed_there(s3: Any, tmp_path: Path) -> None:
    for split, count in (("train", 5), ("test", 2)):
        for i in range(count):
            s3.pipe_file(f"bucket/ds/{split}/cat/{i}.jpg", handmade.jpeg(10 + i, 8))
    s3.pipe_file("bucket/ds/test/dog/0.png", handmade.png(6, 4, seed=1))
    s3.invalidate_cache()
    out = "s3://bucket/out/flowers.tfrecord"
    result = run("pack", "s3://bucket/ds", out, "--label-from", "dir", "--resume")
    assert result.exit_code == 0, result.output
    assert "2 splits, by folders:" in result.output
    s3.invalidate_cache()
    assert sorted(s3.ls("bucket/out")) == [
        "bucket/out/flowers-test.manifest.json",
        "bucket/out/flowers-test.tfrecord",
        "bucket/out/flowers-train.manifest.json",
        "bucket/out/flowers-train.tfrecord",
        "bucket/out/flowers.labels.txt",
        "bucket/out/flowers.manifest.json",
    ]
    inspected = run("inspect", "s3://bucket/out/flowers-test.tfrecord")
    assert inspected.exit_code == 0 and "flowers.labels.txt" in inspected.output
    again = run("pack", "s3://bucket/ds", out, "--label-from", "dir", "--split", "none")
    assert again.exit_code == 2 and "exists" in again.output  # the split output is there


def test_the_client_keeps_as_many_connections_as_requests_in_flight(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore keeps 10 connections unless told: 32 requests in flight would wait for them.
    import copy

    import fsspec.config

    from tfr import storage

    monkeypatch.setattr(fsspec.config, "conf", copy.deepcopy(fsspec.config.conf))
    monkeypatch.setattr(storage, "_connections", storage._connections)
    monkeypatch.setattr(storage, "_pool_given", set())

    def pool() -> int:
        fs, _ = storage.filesystem("s3://bucket/x")
        return int(fs.config_kwargs["max_pool_connections"])

    assert pool() == 64
    storage.allow_connections(100)
    assert pool() == 100
    storage.allow_connections(8)  # never fewer than asked before
    assert pool() == 100
    # The user's own pool size is theirs, and their other client settings stay.
    storage.configure({"config_kwargs": {"max_pool_connections": 5, "read_timeout": 9}}, ["s3"])
    assert pool() == 5
    assert storage.filesystem("s3://bucket/x")[0].config_kwargs["read_timeout"] == 9
