import numpy as np

from adain.checkpoint import PartStore, rows_checkpointed


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
