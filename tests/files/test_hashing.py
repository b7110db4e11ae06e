"""The checksums stored images carry."""

import zlib

import numpy as np

from adain.files.hashing import crc32


def test_the_fast_crc32_is_zlibs_on_every_buffer_kind():
    rng = np.random.default_rng(0)
    for size in (0, 1, 7, 4096, 150_528):
        data = rng.integers(0, 256, size, dtype=np.uint8)
        expected = zlib.crc32(data.tobytes())
        assert crc32(data) == crc32(memoryview(data)) == crc32(data.tobytes()) == expected
    image = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    assert crc32(image) == zlib.crc32(image.tobytes())
