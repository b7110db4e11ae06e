"""The on-disk shard format on its own: what write_shard stores, read_shard and the readers get
back, byte for byte, for fixed-size and encoded images; checksums that find a flipped bit."""

import h5py
import numpy as np
import pytest

from adain.shards.format import (
    ShardData,
    ShardError,
    decode_image,
    encode_image,
    encoded_shape,
    read_shard,
    row_checksums,
    write_shard,
)


def _data(images, codec="raw", shapes=None, **extra) -> ShardData:
    n = len(images)
    return ShardData(
        images=images,
        labels=np.arange(n, dtype=np.int64),
        content=[f"train/n0{i}/é{i}.JPEG" for i in range(n)],
        style=[f"p{i}.jpg" for i in range(n)],
        wnid=[f"n0{i}" for i in range(n)],
        labels_clsloc=np.full(n, -1, dtype=np.int64),
        codec=codec,
        shapes=shapes,
        checksums=row_checksums(images, codec),
        **extra,
    )


def test_raw_rows_metadata_and_attributes_come_back_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    data = _data(
        images,
        rejected_content=["train/n09/broken.JPEG"],
        rejected_reason=["undecodable"],
        k=np.array([0, 1, 0]),
        rejected_k=np.array([0]),
        attrs={"split": "train", "identity": {"alpha": 1.0}},
    )
    write_shard(tmp_path / "s.h5", data)
    back = read_shard(tmp_path / "s.h5")
    assert np.array_equal(back.images, images) and back.codec == "raw"
    assert back.content == data.content and back.style == data.style and back.wnid == data.wnid
    assert back.samples() == [(c, k) for c, k in zip(data.content, [0, 1, 0])]
    assert back.rejected_samples() == [("train/n09/broken.JPEG", 0)] and back.rejected_reason == ["undecodable"]
    assert back.attrs["split"] == "train" and back.attrs["identity"] == '{"alpha": 1.0}'  # JSON text
    assert np.array_equal(back.checksums, row_checksums(images, "raw"))
    with h5py.File(tmp_path / "s.h5") as handle:  # uncompressed: contiguous, so readers memory-map it
        assert handle["images"].chunks is None and handle["images"].id.get_offset() is not None


def test_compressed_shards_are_chunked_one_image_each(tmp_path):
    images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    write_shard(tmp_path / "s.h5", _data(images), compression="gzip")
    with h5py.File(tmp_path / "s.h5") as handle:
        assert handle["images"].chunks == (1, 8, 8, 3) and handle["images"].compression == "gzip"
    assert np.array_equal(read_shard(tmp_path / "s.h5").images, images)


@pytest.mark.parametrize("codec", ["png", "jpeg"])
def test_encoded_images_keep_their_sizes(tmp_path, codec):
    rng = np.random.default_rng(1)
    pixels = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((5, 9), (12, 4))]
    encoded = [encode_image(p, codec) for p in pixels]
    shapes = np.array([encoded_shape(e) for e in encoded])
    assert shapes.tolist() == [[5, 9, 3], [12, 4, 3]]
    write_shard(tmp_path / "s.h5", _data(encoded, codec, shapes))
    back = read_shard(tmp_path / "s.h5")
    for i, original in enumerate(pixels):
        decoded = back.pixels(i)
        assert decoded.shape == original.shape and decoded.dtype == np.uint8
        if codec == "png":  # lossless
            assert np.array_equal(decoded, original)
    assert np.array_equal(decode_image(back.images[0]), back.pixels(0))


def test_a_flipped_bit_changes_the_checksum():
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    before = row_checksums(images, "raw")
    images[1, 2, 3, 0] ^= 1
    after = row_checksums(images, "raw")
    assert before[0] == after[0] and before[1] != after[1]


def test_bad_shapes_codecs_and_files_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match=r"raw images must be \(N, H, W, 3\)"):
        write_shard(tmp_path / "s.h5", _data(np.zeros((2, 4, 4), dtype=np.uint8)))
    assert not list(tmp_path.iterdir())  # written atomically: nothing left behind
    with pytest.raises(ValueError, match="unknown codec 'webp'"):
        encode_image(np.zeros((2, 2, 3), dtype=np.uint8), "webp")
    with pytest.raises(ShardError, match="shard file not found"):
        read_shard(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ShardError, match="not a readable shard"):
        read_shard(tmp_path / "junk.h5")


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_stored_rows_give_every_images_checksum_without_loading_the_shard(tmp_path, compression):
    """``read_shard(pixels=False)`` leaves fixed-size images on the disk; their CRC-32s are read in
    pieces (past the page cache for a contiguous dataset, at any offset; through h5py otherwise)."""
    from adain.shards.format import StoredRows, row_checksums

    images = np.random.default_rng(5).integers(0, 256, (37, 24, 20, 3), dtype=np.uint8)
    data = ShardData(
        images=images,
        labels=np.zeros(37, np.int64),
        content=[f"c{i}" for i in range(37)],
        style=["s"] * 37,
        wnid=["n0"] * 37,
        labels_clsloc=np.zeros(37, np.int64),
    )
    write_shard(tmp_path / "s.h5", data, compression=compression)
    stored = read_shard(tmp_path / "s.h5", pixels=False).images
    assert isinstance(stored, StoredRows) and stored.shape == images.shape and len(stored) == 37
    assert (stored.offset is None) == (compression is not None)
    for rows in (1, 4, 64):  # pieces that end inside pages, and one piece for all
        np.testing.assert_array_equal(stored.checksums(rows_per_read=rows), row_checksums(images, "raw"))
