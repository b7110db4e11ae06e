import numpy as np
import pytest

from adain.shards.checkpoint import PartStore, rows_checkpointed


def _arrays(value):
    return {"rows": np.arange(value, value + 2), "pixels": np.full((2, 3, 3, 3), value, np.uint8)}


def test_parts_chain_and_survive_reload(tmp_path):
    store = PartStore(tmp_path / "p", "plan-a")
    store.save(0, 2, _arrays(0))
    store.save(2, 4, _arrays(2))
    assert rows_checkpointed(tmp_path / "p") == 4 and rows_checkpointed(tmp_path / "none") == 0
    parts = PartStore(tmp_path / "p", "plan-a").load()
    assert [(s, e) for s, e, _ in parts] == [(0, 2), (2, 4)]
    np.testing.assert_array_equal(parts[1][2]["pixels"], _arrays(2)["pixels"])


def test_corrupt_stray_foreign_and_unchained_parts_are_discarded(tmp_path):
    store = PartStore(tmp_path, "plan-a")
    store.save(0, 2, _arrays(0))
    second = store.save(2, 4, _arrays(2))
    store.save(4, 6, _arrays(4))
    second.write_bytes(second.read_bytes()[:-10])  # torn
    (tmp_path / ".0000006-0000008-x.npz.tmp-1-ab").write_bytes(b"half")  # a killed writer's temp
    PartStore(tmp_path, "plan-b").save(0, 9, _arrays(9))  # another plan's part for row 0
    parts = store.load()
    assert [(s, e) for s, e, _ in parts] == [(0, 2)]
    assert sorted(p.name[:15] for p in tmp_path.iterdir()) == ["0000000-0000002"]


def test_a_bit_flipped_part_is_discarded(tmp_path):
    store = PartStore(tmp_path, "plan-a")
    store.save(0, 2, _arrays(0))
    second = store.save(2, 4, {"rows": np.arange(2, 4), "pixels": np.full((2, 64, 64, 3), 7, np.uint8)})
    data = bytearray(second.read_bytes())
    data[len(data) // 2] ^= 0x10  # inside the pixels: only the zip's CRC-32 can tell
    second.write_bytes(bytes(data))
    assert [(s, e) for s, e, _ in store.load()] == [(0, 2)]


def _rows(count, codec="raw"):
    from adain.shards.format import ShardData

    return ShardData(
        images=None,
        labels=np.arange(count),
        content=[f"c{i}" for i in range(count)],
        style=["s"] * count,
        wnid=["n0"] * count,
        labels_clsloc=np.zeros(count, np.int64),
        codec=codec,
    )


def test_staging_writer_resumes_after_a_kill_and_shortens_for_rejects(tmp_path):
    from adain.shards.format import ShardWriter, read_shard, row_checksums

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 8, 8, 3), dtype=np.uint8)
    work, out = tmp_path / "parts" / "staging.h5", tmp_path / "00000.h5"
    writer = ShardWriter(out, work, "raw", (8, 8, 3), rows=9)  # 9 rows planned, 2 will be rejected
    sums = writer.append(images[:4])
    np.testing.assert_array_equal(sums, row_checksums(images[:4], "raw"))
    writer.sync()
    writer.append(images[4:6])  # not synced, then the job dies
    writer.abort()
    assert ShardWriter.resume(out, work, "raw", (8, 8, 3), 9, sums[::-1]) is None  # a wrong checksum: start over
    assert ShardWriter.resume(out, work, "raw", (8, 8, 3), 10, sums) is None  # another plan's layout
    resumed = ShardWriter.resume(out, work, "raw", (8, 8, 3), 9, sums)
    assert resumed.count == 4
    resumed.append(images[4:7])
    resumed.close(_rows(7))
    assert not work.exists()
    np.testing.assert_array_equal(read_shard(out).images, images)


def test_staging_writer_for_encoded_images(tmp_path):
    from adain.shards.format import ShardWriter, encode_image, read_shard, row_checksums

    pictures = [np.full((5 + i, 7, 3), 40 * i, np.uint8) for i in range(3)]
    encoded = [encode_image(p, "png") for p in pictures]
    work, out = tmp_path / "parts" / "staging.h5", tmp_path / "00000.h5"
    writer = ShardWriter(out, work, "png")
    sums = writer.append(encoded[:2])
    writer.sync()
    writer.abort()
    resumed = ShardWriter.resume(out, work, "png", None, 3, sums)
    np.testing.assert_array_equal(row_checksums(encoded[:2], "png"), sums)
    resumed.append(encoded[2:])
    resumed.close(_rows(3, "png"))
    data = read_shard(out)
    assert [tuple(s) for s in data.shapes] == [p.shape for p in pictures]
    for i, picture in enumerate(pictures):
        np.testing.assert_array_equal(data.pixels(i), picture)


def test_parts_made_under_another_environment_are_not_resumed(tmp_path, caplog):
    """A resume on another GPU model or torch/CUDA/cuDNN starts the shard over: its parts name
    the environment that computed them."""
    import logging

    PartStore(tmp_path, "plan-a", '{"device_name": "GPU A", "torch": "2.11.0"}').save(0, 2, _arrays(0))
    assert [(s, e) for s, e, _ in PartStore(tmp_path, "plan-a", '{"device_name": "GPU A", "torch": "2.11.0"}').load()]
    with caplog.at_level(logging.WARNING, logger="adain.shards.checkpoint"):
        assert PartStore(tmp_path, "plan-a", '{"device_name": "GPU B", "torch": "2.11.0"}').load() == []
    assert "GPU A" in caplog.text and "GPU B" in caplog.text and "starts over" in caplog.text
    assert not list(tmp_path.glob("*.npz"))


def _page_aligned_images(count: int, seed: int) -> np.ndarray:
    """``uint8 (count, 32, 32, 3)`` at a page boundary of memory, as a page-locked CUDA buffer."""
    import mmap

    memory = mmap.mmap(-1, count * 32 * 32 * 3)
    images = np.frombuffer(memory, dtype=np.uint8).reshape(count, 32, 32, 3)
    images[:] = np.random.default_rng(seed).integers(0, 256, images.shape, dtype=np.uint8)
    return images


def test_page_aligned_blocks_go_past_the_page_cache_and_the_rest_through_it(tmp_path, monkeypatch):
    """Blocks of whole pages at page boundaries (here 4 images of 32x32: 3 pages) are written with
    O_DIRECT, others (a single row; a block that no longer starts at a page) through the page
    cache; every byte reads back, and a resume sees the direct writes."""
    import adain.shards.format as fmt
    from adain.shards.format import ShardWriter, read_shard, row_checksums

    written = []
    real = fmt._write_all
    monkeypatch.setattr(fmt, "_write_all", lambda fd, buffers, at: written.append((fd, at)) or real(fd, buffers, at))
    work, out = tmp_path / "parts" / "staging.h5", tmp_path / "00000.h5"
    writer = ShardWriter(out, work, "raw", (32, 32, 3), rows=13)
    if writer._direct is None:
        pytest.skip(f"{tmp_path}'s file system refuses O_DIRECT")
    assert writer._offset % 4096 == 0  # the dataset starts at a page
    aligned = _page_aligned_images(8, 0)
    sums = writer.append([aligned[:4], aligned[4:8]])  # two blocks of 3 pages each
    assert [fd for fd, _ in written] == [writer._direct, writer._direct]
    np.testing.assert_array_equal(sums, row_checksums(aligned, "raw"))
    single = _page_aligned_images(1, 1)
    writer.append(single[0])  # 3 KB: through the page cache
    later = _page_aligned_images(4, 2)
    writer.append(later)  # aligned in memory, but the file offset is 9 rows in: not a page boundary
    assert [fd for fd, _ in written] == [writer._direct, writer._direct, writer._fd, writer._fd]
    writer.sync()
    writer.abort()
    everything = np.concatenate([aligned, single, later])
    resumed = ShardWriter.resume(out, work, "raw", (32, 32, 3), 13, row_checksums(everything, "raw"))
    assert resumed is not None and resumed.count == 13
    resumed.close(_rows(13))
    data = read_shard(out)
    np.testing.assert_array_equal(data.images, everything)


def test_blocks_and_rows_are_staged_alike(tmp_path):
    """The checkpointed staging of fixed-size images given as rows or as blocks of a batch
    writes the same shard (blocks out of row order are put in order)."""
    from adain.shards.checkpoint import CheckpointedStaging
    from adain.shards.format import ShardWriter, read_shard

    images = np.random.default_rng(3).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    shards = []
    for name, feed in (
        ("rows", lambda s: [s.add(i, images[i]) for i in (1, 0, 2, 3, 5, 4)]),
        ("blocks", lambda s: [s.add_run([0, 1, 2], images[:3]), s.add_run([3, 4, 5], images[3:])]),
        ("unordered", lambda s: [s.add_run([3, 4, 5], images[3:]), s.add_run([0, 1, 2], images[:3])]),
    ):
        out = tmp_path / f"{name}.h5"
        writer = ShardWriter(out, tmp_path / name / "staging.h5", "raw", (8, 8, 3), rows=6)
        store = PartStore(tmp_path / name, "plan")
        parts = []
        saver = CheckpointedStaging(writer, store, parts, 0, 1000, 1000.0, encoded=False)
        feed(saver)
        saver.safe_point(6, 6)
        saver.finish()
        saver.stop()
        data = _rows(6)
        writer.close(data)
        shards.append(read_shard(out).images)
        assert [(s, e) for s, e, _ in parts] == [(0, 6)] and parts[0][2]["rows"].tolist() == list(range(6))
    for found in shards:
        np.testing.assert_array_equal(found, images)
