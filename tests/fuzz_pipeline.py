"""The fuzz driver of tests/test_fuzz.py: hostile inputs through index -> stylize -> pack ->
validate -> export -> read, in one process whose peak memory the test measures.

Run as ``python -m tests.fuzz_pipeline WORKDIR SEED SECONDS``; prints one JSON line of figures.
Every round writes a new content tree of random files under hostile names, then runs the whole
chain on it (a texture filter stands in for AdaIN: same chain, no weights).
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

EXTENSIONS = ["jpeg", "jpg", "png", "gif", "tif", "tiff"]


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _gif_header(width: int, height: int) -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0, 0, 0)
        + b",\0\0\0\0"
        + struct.pack("<HH", width, height)
        + b"\0\x02\x02D\x01\0;"
    )


def _jpeg_header(width: int, height: int) -> bytes:
    sof = struct.pack(">BHHBBBBB", 8, height, width, 1, 1, 0x11, 0, 0)
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def _tiff_header(width: int, height: int) -> bytes:
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, width * height),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 8) + ifd


def _valid(rng: random.Random, fmt: str, size: tuple[int, int]) -> bytes:
    pixels = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def random_file(rng: random.Random) -> bytes:
    """Random bytes, valid images (some of absurd shape), truncated ones, headers that claim absurd sizes."""
    kind = rng.choice(["bytes", "valid", "valid", "truncated", "absurd", "absurd", "extreme", "empty"])
    fmt = rng.choice(["PNG", "JPEG", "GIF", "TIFF"])
    if kind == "bytes":
        return rng.randbytes(rng.randrange(1, 3000))
    if kind == "empty":
        return b""
    if kind == "extreme":  # valid, tiny on disk, huge once resized
        return _valid(rng, "PNG", rng.choice([(20000, 2), (2, 20000), (100000, 1), (3000, 7)]))
    if kind == "absurd":
        width, height = rng.choice([(100000, 1), (65535, 65535), (1, 65535), (9000, 9000), (0, 5)])
        header = {"PNG": _png_header, "GIF": _gif_header, "JPEG": _jpeg_header, "TIFF": _tiff_header}[fmt]
        return header(min(width, 65535), min(height, 65535))
    data = _valid(rng, fmt, (rng.randrange(1, 80), rng.randrange(1, 80)))
    return data[: rng.randrange(1, len(data))] if kind == "truncated" else data


def random_name(rng: random.Random, index: int) -> bytes:
    """File names as bytes: non-UTF-8, very long, dots, dashes, tabs, newlines, spaces, unicode."""
    stem = (
        rng.choice(
            [
                b"caf\xe9",
                b"\xff\xfe",
                b"-rf",
                b"--help",
                b"..",
                b"...",
                b"a\tb",
                b"a\nb",
                b" spaced ",
                b"\xe7\x8c\xab",
                b"x" * rng.randrange(150, 240),
                b"%s",
                b"$(reboot)",
                b"a\\b",
                b"normal",
            ]
        )
        + b"-%d" % index
    )
    extension = rng.choice([b".JPEG", b".png", b".jpg", b".gif", b".tiff", b".PNG", b"", b".txt"])
    return stem[: 250 - len(extension)] + extension


def one_round(work: Path, rng: random.Random, files: int) -> dict:
    from adain.cli.inspect import export_shards
    from adain.data import ShardDataset
    from adain.stages.assign_styles import read_shard_list, write_manifests
    from adain.stages.index_images import read_index, read_index_rejects, write_index
    from adain.stages.pack_shard import pack_shard
    from adain.stages.settings import StylizeSettings
    from adain.stages.stylize_shard import stylize_shard
    from adain.stages.validate_shard import validate_shard

    content, out, export = work / "content", work / "out", work / "export"
    classes = [b"n01", b"n02", b"odd\tclass", b"caf\xe9", b".hidden"]
    os.makedirs(content / "train" / "n01", exist_ok=True)
    for i in range(files):
        folder = os.fsencode(content / "train") + b"/" + rng.choice(classes)
        if rng.random() < 0.1:
            folder += b"/nested"
        os.makedirs(folder, exist_ok=True)
        with open(folder + b"/" + random_name(rng, i), "wb") as handle:
            handle.write(random_file(rng))
    os.makedirs(content / "train" / "n03_empty", exist_ok=True)
    (content / "train" / "n01" / "plain.png").write_bytes(_valid(rng, "PNG", (40, 30)))  # a dataset is never empty
    write_index(
        content,
        ["train"],
        out / "index" / "images.tsv",
        out / "index" / "classes.tsv",
        EXTENSIONS,
        rejected_tsv=out / "index" / "rejected.tsv",
    )
    indexed = len(read_index(out / "index" / "images.tsv"))
    rejected = len(read_index_rejects(out / "index" / "rejected.tsv"))
    write_manifests(out / "index" / "images.tsv", None, rng.randrange(1000), 16, out / "manifest")
    packed = 0
    for split, shard, _ in read_shard_list(out / "manifest" / "shards.tsv"):
        manifest = out / "manifest" / split / f"{shard}.tsv"
        staging = out / "stylized" / split / f"{shard}.h5"
        settings = StylizeSettings.defaults(
            preset="sin", device="cpu", batch_size=4, workers=0, checkpoint_images=5, method="gaussian"
        )
        result = stylize_shard(
            manifest, None, content, None, None, staging, settings, attrs={"split": split, "shard": int(shard)}
        )
        report = validate_shard(staging, manifest, out / "validated" / split / f"{shard}.json", 224, content)
        pack_shard(staging, out / "validated" / split / f"{shard}.json", out / "shards" / split / f"{split}-{shard}.h5")
        packed += result["images"]
        rejected += result["rejected"]
        assert report["images"] == result["images"]
    exported = export_shards(out, export, workers=2) if packed else 0
    read = sum(1 for _ in ShardDataset(out)) if packed else 0
    assert exported == packed == read, (exported, packed, read)
    return {
        "indexed": indexed + len(read_index_rejects(out / "index" / "rejected.tsv")),
        "packed": packed,
        "rejected": rejected,
        "inputs": files,
    }


def main(work: str, seed: int, seconds: float) -> dict:
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    totals = {"rounds": 0, "inputs": 0, "indexed": 0, "packed": 0, "rejected": 0, "crashes": 0}
    while time.monotonic() < deadline:
        figures = one_round(Path(work) / f"round{totals['rounds']}", rng, rng.randrange(10, 40))
        if figures["indexed"] != figures["packed"] + figures["rejected"]:
            raise AssertionError(f"round {totals['rounds']}: {figures}")
        totals["rounds"] += 1
        for key in ("inputs", "indexed", "packed", "rejected"):
            totals[key] += figures[key]
    totals["peak_rss_mb"] = peak_rss_mb()
    return totals


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ``ru_maxrss`` keeps the parent's peak across
    fork and exec (started by a test worker that grew to 2 GB, it says 2 GB), so the process's own
    high-water mark (``VmHWM``) is read where there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))))
