"""Damage in JPEG, PNG and GIF files: what TensorFlow's decoders tolerate (probe says so in
`ImageInfo.tolerated` and packs the file) and what they refuse (probe refuses too, naming the
reason). TensorFlow decides every case, on files the tests craft byte by byte."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from PIL import Image

import imagegen as gen
from tfr.errors import DamagedImage
from tfr.images import ImageInfo, probe, reencode, verify
from tfr.images.gif import tensorflow_frames
from tfr.images.pillow import decoded as pillow_decoded
from tfr.images.resizing import ResizeSpec, resize

W, H = 24, 16


def decoded(tf: Any, data: bytes, expand: bool = False) -> Any:
    return tf.io.decode_image(data, expand_animations=expand).numpy()


def pillow_rgb(data: bytes) -> Any:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


# --------------------------------------------------------------------------------------------
# JPEG: libjpeg skips bytes where a marker should be, with a warning, and decodes on


JPEG = gen.jpeg_bytes(W, H)


def before_marker(data: bytes, marker: int, junk: bytes, nth: int = 0) -> bytes:
    at = -1
    for _ in range(nth + 1):
        at = data.index(bytes((0xFF, marker)), at + 1)
    return data[:at] + junk + data[at:]


def overwrite_marker(data: bytes, marker: int, nth: int = 0) -> bytes:
    """``data`` with the 0xFF of the ``nth`` ``marker`` made 0x00: its segment is lost."""
    at = -1
    for _ in range(nth + 1):
        at = data.index(bytes((0xFF, marker)), at + 1)
    return data[:at] + b"\x00" + data[at + 1 :]


EXTRANEOUS = {
    "before-DQT": before_marker(JPEG, 0xDB, b"\x00\x01\x02"),
    "before-SOF": before_marker(JPEG, 0xC0, b"abc"),
    "before-SOS": before_marker(JPEG, 0xDA, b"\x00"),
    "escaped-zero-before-SOF": before_marker(JPEG, 0xC0, b"\xff\x00"),
    "two-places": before_marker(before_marker(JPEG, 0xC0, b"ab"), 0xDA, b"c"),
}


@pytest.mark.parametrize("name", EXTRANEOUS)
def test_extraneous_bytes_before_a_jpeg_marker_are_tolerated(tf: Any, name: str) -> None:
    data = EXTRANEOUS[name]
    info = probe(data)
    assert (info.height, info.width, info.channels) == (H, W, 3) and info.tf_decodable
    assert len(info.tolerated) == 1 and "extraneous bytes before" in info.tolerated[0]
    assert (decoded(tf, data) == decoded(tf, JPEG)).all()  # libjpeg decodes the same pixels
    verify(data, info)


def test_extraneous_bytes_are_counted_as_libjpeg_counts_them() -> None:
    info = probe(EXTRANEOUS["before-DQT"])
    at = EXTRANEOUS["before-DQT"].index(b"\xff\xdb")
    assert info.tolerated == (
        f"3 extraneous bytes before JPEG marker 0xDB at byte {at} (decoders skip them)",
    )
    assert (
        probe(EXTRANEOUS["two-places"])
        .tolerated[0]
        .startswith("3 extraneous bytes before 2 JPEG markers, the first 0xC0")
    )


def test_a_sound_jpeg_tolerates_nothing() -> None:
    assert probe(JPEG) == ImageInfo("jpeg", H, W, 3)


def test_a_jpeg_whose_quantization_table_is_skipped_is_damaged(tf: Any) -> None:
    """Its DQT marker's 0xFF overwritten: libjpeg skips the table and then cannot decode."""
    data = overwrite_marker(JPEG, 0xDB)
    with pytest.raises(DamagedImage, match=r"the marker at byte \d+ starts with 0x00, not 0xFF"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def test_a_jpeg_whose_huffman_table_is_skipped_is_damaged(tf: Any) -> None:
    """Its own (optimised) Huffman table lost, TensorFlow decodes it without complaint, with
    libjpeg's standard tables: to other pixels."""
    optimised = gen.encode(gen.photo_like(W, H), "JPEG", quality=90, optimize=True)
    data = overwrite_marker(optimised, 0xC4)
    with pytest.raises(DamagedImage, match=r"decoders skip its 0xC4 segment"):
        probe(data)
    assert (decoded(tf, data) != decoded(tf, optimised)).any()


def test_a_quantization_table_missing_after_skipped_bytes_is_damage(tf: Any) -> None:
    """Skipped bytes that hide no whole segment, but a table is still missing."""
    at = JPEG.index(b"\xff\xdb")
    (length,) = struct.unpack_from(">H", JPEG, at + 2)
    data = JPEG[:at] + b"\x00\x00" + JPEG[at + 2 + length :]  # the first DQT gone
    with pytest.raises(DamagedImage, match=r"quantization table 0 is missing"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def test_an_unknown_marker_is_damage(tf: Any) -> None:
    data = before_marker(JPEG, 0xDB, b"\xff\x02\x00\x04ab")
    at = data.index(b"\xff\x02") + 1
    with pytest.raises(DamagedImage, match=rf"unknown marker 0x02 at byte {at}\b"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            before_marker(JPEG, 0xDB, b"\xff\xf0\x00\x04ab"),
            "JPEG with a 0xF0 marker, an extension TensorFlow cannot decode",
        ),
        (
            JPEG.replace(b"\xff\xc0", b"\xff\xc8", 1),
            "JPEG of the reserved JPG process, which TensorFlow cannot decode",
        ),
        (
            JPEG.replace(b"\xff\xc0", b"\xff\xf7", 1),
            "JPEG-LS image, which TensorFlow cannot decode",
        ),
    ],
)
def test_extensions_libjpeg_does_not_read_are_refused_by_name(
    tf: Any, data: bytes, reason: str
) -> None:
    info = probe(data)
    assert (info.height, info.width, info.channels, info.tf_problem) == (H, W, 0, reason)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


# --------------------------------------------------------------------------------------------
# PNG: libpng drops an ancillary chunk that fails its CRC, and stops at a critical one


def with_chunk(png: bytes, kind: bytes, payload: bytes, *, after: bytes = b"IHDR") -> bytes:
    """``png`` with a chunk added after its first ``after`` chunk, its CRC wrong."""
    out = bytearray(png[:8])
    for chunk_kind, chunk_payload in gen.png_chunks(png):
        out += gen.png_from_chunks([(chunk_kind, chunk_payload)])[8:]
        if chunk_kind == after:
            crc = zlib.crc32(kind + payload) ^ 1
            out += struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
            after = b""
    return bytes(out)


def break_crc(png: bytes, kind: bytes) -> bytes:
    """``png`` with the CRC of its first ``kind`` chunk wrong."""
    at = png.index(kind) - 4
    (length,) = struct.unpack_from(">I", png, at)
    crc_at = at + 8 + length
    return png[:crc_at] + bytes((png[crc_at] ^ 1,)) + png[crc_at + 1 :]


PNG = gen.png_bytes(W, H, "RGB")
INTERLACED = gen.interlaced_png(W, H)
ICC = b"sRGB\x00\x00" + zlib.compress(bytes(200))
ANCILLARY = {  # name: (the PNG, the chunk that fails its CRC, the same PNG without it)
    "iCCP": (with_chunk(PNG, b"iCCP", ICC), "iCCP", PNG),
    "tEXt": (with_chunk(PNG, b"tEXt", b"Comment\x00hello"), "tEXt", PNG),
    "gAMA": (with_chunk(PNG, b"gAMA", struct.pack(">I", 45455)), "gAMA", PNG),
    "private": (with_chunk(PNG, b"prVt", b"anything"), "prVt", PNG),
    "after-IDAT": (with_chunk(PNG, b"tEXt", b"C\x00hi", after=b"IDAT"), "tEXt", PNG),
    "interlaced": (with_chunk(INTERLACED, b"iCCP", ICC), "iCCP", INTERLACED),
}


@pytest.mark.parametrize("name", ANCILLARY)
def test_an_ancillary_chunk_failing_its_crc_is_dropped_as_libpng_drops_it(
    tf: Any, name: str
) -> None:
    data, kind, reference = ANCILLARY[name]
    info = probe(data)
    assert info == ImageInfo(
        "png", H, W, 3, tolerated=(f"ancillary chunk {kind} fails its CRC (dropped by decoders)",)
    )
    assert (decoded(tf, data) == decoded(tf, reference)).all()
    verify(data, info)  # Pillow refuses the file itself; verify gives it what libpng reads
    converted, converted_info = reencode(data, "png")
    assert converted_info == ImageInfo("png", H, W, 3)
    assert (decoded(tf, converted) == decoded(tf, reference)).all()
    # Every way into Pillow gives it what libpng reads: resizing, previews, decode_images.
    stretched = resize(data, info, ResizeSpec.parse(f"{W * 2}x{H * 2}", "stretch"), fmt="png")
    assert stretched.resized and decoded(tf, stretched.data).shape == (H * 2, W * 2, 3)
    with pillow_decoded(data, "png") as im:
        assert (np.asarray(im.convert("RGB")) == decoded(tf, reference)).all()


def test_a_palettes_transparency_failing_its_crc_is_dropped(tf: Any) -> None:
    """Without its tRNS chunk a palette PNG has no alpha: TensorFlow decodes 3 channels."""
    sound = gen.palette_png_with_transparency(W, H)
    data = break_crc(sound, b"tRNS")
    info = probe(data)
    assert probe(sound).channels == 4
    assert (info.channels, info.tolerated) == (
        3,
        ("ancillary chunk tRNS fails its CRC (dropped by decoders)",),
    )
    assert decoded(tf, data).shape == (H, W, 3)
    verify(data, info)


@pytest.mark.parametrize("kind", [b"IHDR", b"PLTE", b"IDAT", b"IEND"])
def test_a_critical_chunk_failing_its_crc_is_damage(tf: Any, kind: bytes) -> None:
    data = break_crc(gen.png_bytes(W, H, "P"), kind)
    with pytest.raises(DamagedImage, match=rf"its {kind.decode()} chunk at byte \d+ fails its CRC"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def pillow_decodes_every_frame(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        for frame in range(getattr(im, "n_frames", 1)):
            im.seek(frame)
            im.load()


def test_a_critical_chunk_whose_name_passes_for_ancillary_is_damage(tf: Any) -> None:
    """The second of two IDAT chunks, its name's first letter flipped to lower case ("iDAT"),
    fails its CRC: libpng drops it as ancillary and the image data ends early."""
    chunks = gen.png_chunks(PNG)
    compressed = b"".join(payload for kind, payload in chunks if kind == b"IDAT")
    half = len(compressed) // 2
    data = gen.png_from_chunks(
        [chunks[0], (b"IDAT", compressed[:half]), (b"IDAT", compressed[half:]), (b"IEND", b"")]
    )
    data = data.replace(b"IDAT", b"iDAT", 2).replace(b"iDAT", b"IDAT", 1)
    with pytest.raises(DamagedImage, match=r"its iDAT chunk at byte \d+ fails its CRC"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def renumber_apng(data: bytes, number: Any) -> bytes:
    """An APNG whose fcTL/fdAT sequence numbers are ``number(n)`` for the n-th of them."""
    chunks, n = [], 0
    for kind, payload in gen.png_chunks(data):
        if kind in (b"fcTL", b"fdAT"):
            payload = struct.pack(">I", number(n)) + payload[4:]
            n += 1
        chunks.append((kind, payload))
    return gen.png_from_chunks(chunks)


APNG = gen.apng_bytes(W, H)
APNG_OUT_OF_SEQUENCE = {
    "starting-at-1": renumber_apng(APNG, lambda n: n + 1),
    "with-a-gap": renumber_apng(APNG, lambda n: n if n < 2 else n + 5),
    "all-zero": renumber_apng(APNG, lambda n: 0),
}


@pytest.mark.parametrize("name", APNG_OUT_OF_SEQUENCE)
def test_an_apng_out_of_sequence_still_has_the_default_image_tensorflow_decodes(
    tf: Any, name: str
) -> None:
    data = APNG_OUT_OF_SEQUENCE[name]
    info = probe(data)
    assert info == ImageInfo(
        "png",
        H,
        W,
        3,
        animated=True,
        tolerated=("APNG frames out of sequence (TensorFlow decodes only the default image)",),
    )
    assert (decoded(tf, data, expand=True) == decoded(tf, APNG, expand=True)).all()
    with pytest.raises((SyntaxError, OSError)):  # why verify does not ask Pillow for frames
        pillow_decodes_every_frame(data)
    assert verify(data, info) == ()
    assert reencode(data, "png")[1] == ImageInfo("png", H, W, 3)


def test_an_apng_frame_failing_its_crc_is_dropped(tf: Any) -> None:
    data = break_crc(APNG, b"fdAT")
    info = probe(data)
    assert info.tolerated == (
        "ancillary chunk fdAT fails its CRC (dropped by decoders)",
        "APNG frames out of sequence (TensorFlow decodes only the default image)",  # one gone
    )
    assert (decoded(tf, data) == decoded(tf, APNG)).all()
    verify(data, info)


# --------------------------------------------------------------------------------------------
# GIF: giflib stops at what it cannot read, and TensorFlow keeps the frames read before


FRAME = gen.gif_frame(W, H)
FRAME2 = gen.gif_frame(W, H, seed=1)
EMPTY_COMMENT = b"\x21\xfe\x00"  # a comment extension with no data: legal, and misread


def gif(*blocks: bytes, version: bytes = b"GIF89a") -> bytes:
    return gen.gif_of_blocks(W, H, list(blocks), version=version)


@pytest.mark.parametrize("version", [b"GIF87a", b"GIF89a"])
def test_an_empty_extension_before_the_first_image_is_refused(tf: Any, version: bytes) -> None:
    """giflib takes the byte after an extension's terminator for the length of a data block:
    here the image descriptor, so it never finds the image."""
    data = gif(EMPTY_COMMENT, FRAME, b";", version=version)
    info = probe(data)
    assert (info.height, info.width, info.channels, info.tf_decodable) == (H, W, 0, False)
    assert "extension block without data before its first image" in (info.tf_problem or "")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"slurp"):
        tf.io.decode_image(data)
    verify(data, info)  # Pillow reads it: it can be converted
    converted, converted_info = reencode(data, "png", source=info)
    assert converted_info.tf_decodable
    assert (decoded(tf, converted) == decoded(tf, gif(FRAME, b";"))).all()


@pytest.mark.parametrize(("text", "decodes"), [(31, True), (20, False), (40, False)])
def test_giflib_reads_the_next_byte_as_a_block_length(tf: Any, text: int, decodes: bool) -> None:
    """The proof of how giflib misreads: after the empty comment comes a comment of ``text``
    bytes. giflib takes its first byte (0x21) for a block of 33 bytes, which ends on the
    comment's terminator when the text is 31 bytes long: then it finds the image, else not."""
    comment = b"\x21\xfe" + gen.gif_sub_blocks(bytes(range(1, text + 1)))
    data = gif(EMPTY_COMMENT, comment, FRAME, b";")
    info = probe(data)
    assert info.tf_decodable == decodes
    if decodes:
        assert info == ImageInfo("gif", H, W, 3)
        assert decoded(tf, data).shape == (H, W, 3)
    else:
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.decode_image(data)


def test_an_empty_extension_after_the_last_image_changes_nothing(tf: Any) -> None:
    data = gif(FRAME, EMPTY_COMMENT, b";")
    assert probe(data) == ImageInfo("gif", H, W, 3)
    assert (decoded(tf, data) == decoded(tf, gif(FRAME, b";"))).all()


def test_an_empty_extension_between_frames_hides_the_later_ones(tf: Any) -> None:
    data = gif(FRAME, EMPTY_COMMENT, FRAME2, b";")
    info = probe(data)
    assert (info.channels, info.animated, info.tf_decodable) == (3, True, True)
    assert info.tolerated == (
        "TensorFlow reads 1 of its 2 frames: frame 2 follows an extension block without data, "
        "which TensorFlow's decoder misreads",
    )
    assert decoded(tf, data, expand=True).shape == (1, H, W, 3)
    assert tensorflow_frames(data) == 1


def test_an_empty_extension_then_bytes_taken_for_an_image_is_refused(tf: Any) -> None:
    """giflib reads the comment's first byte (0x21) as a block of 33 bytes, which ends inside
    the comment's text, and takes the text that follows for an image: here a 2x2 one, which is
    what TensorFlow decodes. Only decoding tells what comes of such bytes: tfr refuses them."""
    stray = b"\x2c" + struct.pack("<HHHHB", 0, 0, 2, 2, 0) + b"\x02"
    stray += gen.gif_sub_blocks(gen.lzw_literals([0, 1, 1, 0], 2)) + b";"
    text = bytes(31) + b"\x00" + stray
    comment = b"\x21\xfe" + gen.gif_sub_blocks(text)
    data = gif(EMPTY_COMMENT, comment, FRAME, b";")
    info = probe(data)
    assert (info.height, info.width, info.channels) == (H, W, 0)
    assert "TensorFlow's decoder misreads it and takes other bytes for an image" in (
        info.tf_problem or ""
    )
    assert decoded(tf, data).shape == (2, 2, 3)


@pytest.mark.parametrize("code_size", [9, 12])
def test_a_first_frame_with_an_lzw_code_size_over_8_is_refused(tf: Any, code_size: int) -> None:
    data = gif(gen.gif_frame(W, H, code_size=code_size), b";")
    info = probe(data)
    assert not info.tf_decodable and info.channels == 0
    assert info.tf_problem == (
        f"GIF whose frame 1 has an LZW code size of {code_size} (the format allows 2-8): "
        "TensorFlow's decoder refuses it"
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"slurp"):
        tf.io.decode_image(data)
    verify(data, info)  # Pillow decodes it
    assert (pillow_rgb(data) == decoded(tf, gif(FRAME, b";"))).all()


def test_a_later_frame_with_an_lzw_code_size_over_8_ends_what_tensorflow_reads(tf: Any) -> None:
    data = gif(FRAME, gen.gif_frame(W, H, code_size=9, seed=1), b";")
    info = probe(data)
    assert (info.channels, info.animated) == (3, True)
    assert info.tolerated == (
        "TensorFlow reads 1 of its 2 frames: frame 2 has an LZW code size of 9 "
        "(the format allows 2-8)",
    )
    assert decoded(tf, data, expand=True).shape == (1, H, W, 3)
    assert (decoded(tf, data) == pillow_rgb(data)).all()


@pytest.mark.parametrize("code_size", [0, 1])
def test_an_lzw_code_size_below_2_is_refused(tf: Any, code_size: int) -> None:
    """giflib and Pillow read these otherwise: TensorFlow refuses or decodes other pixels."""
    pixels = [(x + y) % 2 for y in range(H) for x in range(W)]
    lzw = gen.lzw_literals(pixels, 2)  # written as code size 2, labelled otherwise
    frame = (
        struct.pack("<BHHHHB", 0x2C, 0, 0, W, H, 0) + bytes((code_size,)) + gen.gif_sub_blocks(lzw)
    )
    data = gif(frame, b";")
    info = probe(data)
    assert not info.tf_decodable
    assert f"LZW code size is {code_size}" in (info.tf_problem or "")
    try:
        tensorflow = decoded(tf, data)
    except tf.errors.InvalidArgumentError:
        return
    assert (tensorflow != pillow_rgb(data)).any()


def test_a_second_gif_after_the_first_frame_is_tolerated(tf: Any) -> None:
    first = gif(FRAME, b";")
    data = gif(FRAME, gif(FRAME2, b";"))  # a second file where the trailer should be
    info = probe(data)
    assert (info.channels, info.animated) == (3, False)
    assert info.tolerated == (
        f"a second GIF header at byte {len(first) - 1}, after frame 1: decoders stop reading there",
    )
    assert (decoded(tf, data, expand=True) == decoded(tf, first, expand=True)).all()
    verify(data, info)


def test_unknown_data_after_the_last_frame_is_tolerated(tf: Any) -> None:
    data = gif(FRAME, b"\x00\x00junk")
    info = probe(data)
    assert info.tolerated == (
        f"unknown data at byte {len(gif(FRAME))}, after frame 1: decoders stop reading there",
    )
    assert (decoded(tf, data) == decoded(tf, gif(FRAME, b";"))).all()


def test_unknown_data_before_the_first_frame_is_damage(tf: Any) -> None:
    data = gif(b"zz", FRAME, b";")
    with pytest.raises(DamagedImage, match=r"unknown block 0x7A at byte 19"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def test_an_empty_later_frame_ends_what_tensorflow_reads(tf: Any) -> None:
    """Pillow refuses the empty frame; verify decodes only the frames TensorFlow reads."""
    empty = struct.pack("<BHHHHB", 0x2C, 0, 0, 0, H, 0) + b"\x02" + gen.gif_sub_blocks(b"")
    data = gif(FRAME, empty, b";")
    info = probe(data)
    assert info.tolerated == ("TensorFlow reads 1 of its 2 frames: frame 2 has no pixels (0x16)",)
    assert decoded(tf, data, expand=True).shape == (1, H, W, 3)
    verify(data, info)


def test_an_empty_first_frame_is_damage(tf: Any) -> None:
    empty = struct.pack("<BHHHHB", 0x2C, 0, 0, 0, H, 0) + b"\x02" + gen.gif_sub_blocks(b"")
    with pytest.raises(DamagedImage, match=r"its first frame is 0x16 pixels"):
        probe(gif(empty, b";"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(gif(empty, b";"))


def frame_cut_short(seed: int) -> bytes:
    """A frame whose LZW data stops after 3 bytes: its first data block ends it."""
    frame = gen.gif_frame(W, H, seed=seed)
    return frame[:11] + b"\x03" + frame[12:15] + b"\x00"  # descriptor and code size, 3 bytes


@pytest.mark.parametrize(("frames", "read"), [(["ok", "cut", "ok"], 1), (["ok", "ok", "cut"], 2)])
def test_verify_finds_a_later_frame_tensorflow_drops(tf: Any, frames: list[str], read: int) -> None:
    """giflib stops at a frame whose data is damaged and TensorFlow keeps those before: the
    first frame is decoded right, so this is damage TensorFlow tolerates."""
    blocks = [FRAME if kind == "ok" else frame_cut_short(n) for n, kind in enumerate(frames)]
    data = gif(*blocks, b";")
    info = probe(data)
    assert info.tf_decodable and info.tolerated == ()  # the blocks are sound
    assert decoded(tf, data, expand=True).shape == (read, H, W, 3)
    assert (decoded(tf, data) == decoded(tf, gif(FRAME, b";"))).all()
    found = verify(data, info)
    assert len(found) == 1
    assert found[0].startswith(f"GIF frame {read + 1} cannot be decoded (")
    assert found[0].endswith(f"TensorFlow reads only the {read} frame{'s' * (read > 1)} before it")


def test_verify_refuses_a_first_frame_tensorflow_cannot_decode(tf: Any) -> None:
    data = gif(frame_cut_short(0), b";")
    with pytest.raises(DamagedImage, match=r"^damaged GIF: its pixels cannot be decoded"):
        verify(data, probe(data))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)


def test_a_gif_cut_inside_its_only_frame_and_padded_is_damage(tf: Any) -> None:
    """Zeros after a cut end the frame's data blocks, then start no block: not data after a
    whole frame (which decoders ignore) but a frame cut short, which TensorFlow refuses."""
    sound = gen.gif_bytes(W, H)
    data = sound[: len(sound) // 2] + bytes(len(sound) - len(sound) // 2)
    with pytest.raises(DamagedImage, match=r"its only frame cannot be decoded, and unknown data"):
        probe(data)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data)
