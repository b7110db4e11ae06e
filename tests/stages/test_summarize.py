"""The summary's checks and the dataset card, on their own (the workflow tests run them whole)."""

import pytest

from adain.stages.dataset_card import dataset_card
from adain.stages.settings import RunSettings, config_defaults
from adain.stages.summarize import FingerprintError, _Tally, check_fingerprints


def _record(name: str, fingerprint: str, dataset: str = "d1") -> dict:
    return {"file": f"shards/train/{name}.h5", "fingerprint": fingerprint, "stylization_fingerprint": dataset}


def test_shards_of_one_dataset_with_their_planned_fingerprints_pass():
    records = [_record("train-00000", "f0"), _record("train-00001", "f1")]
    check_fingerprints(records, {"shards/train/train-00000.h5": "f0", "shards/train/train-00001.h5": "f1"})
    check_fingerprints(records)  # without a plan: one dataset is enough


def test_a_shard_off_the_plan_or_of_another_dataset_is_named():
    records = [_record("train-00000", "f0"), _record("train-00001", "old", "d2")]
    with pytest.raises(FingerprintError) as error:
        check_fingerprints(records, {"shards/train/train-00000.h5": "f0", "shards/train/train-00001.h5": "f1"})
    message = str(error.value)
    assert "shards/train/train-00001.h5: fingerprint old, planned f1" in message
    assert "stylization fingerprint d1" in message and "stylization fingerprint d2" in message
    assert "train-00000.h5: fingerprint" not in message


def test_every_sample_is_packed_or_rejected():
    tally = _Tally()
    tally.indexed["train"], tally.packed["train"], tally.rejected["train"] = 3, 5, 1
    tally.check(styles_per_image=2)  # 3 images x 2 styles = 5 packed + 1 rejected
    tally.packed["train"] = 4
    with pytest.raises(RuntimeError, match=r"split train: 3 indexed x 2 style\(s\) != 4 packed \+ 1 rejected"):
        tally.check(styles_per_image=2)


def _summary(**extra) -> dict:
    return {
        "splits": {"train": {"indexed": 3, "samples": 3, "packed": 2, "rejected": 1, "classes": {"n01": 2}}},
        "shards": 1,
        "stylization_fingerprint": "d" * 64,
        **extra,
    }


def test_the_card_says_how_it_was_made_what_it_holds_and_warns_of_stand_in_weights():
    settings = RunSettings.from_config(config_defaults(seed=7, shard_size=5000))
    identity = {"method": "adain", "alpha": 1.0, "weights_sha256": {"vgg": "v" * 64, "decoder": "w" * 64}}
    card = dataset_card(_summary(warning="random stand-in weights"), identity, settings)
    assert card.startswith("# Stylized-ImageNet, preset sin\n")
    assert "**WARNING: random stand-in weights.**" in card
    for row in ("| seed (painting draws) | 7 |", "| shard size | 5000 |", f"| VGG weights sha256 | `{'v' * 64}` |"):
        assert row in card
    assert "| train | 3 | 3 | 2 | 1 | 1 |" in card and "Painter-by-Numbers" in card
    assert "**Warning:**" not in card


def test_the_card_warns_of_few_paintings():
    settings = RunSettings.from_config(config_defaults(shard_size=5000))
    summary = _summary(paintings=1, painting_warnings=["style_dir has one usable painting: every image is ..."])
    card = dataset_card(summary, {"method": "adain"}, settings)
    assert "> **Warning:** style_dir has one usable painting: every image is ...." in card
    assert "| paintings drawn from | 1 |" in card


def test_a_filters_card_names_the_filter_and_its_parameters_not_paintings():
    settings = RunSettings.from_config(config_defaults(method="gaussian"))
    identity = {"method": "gaussian", "method_params": {"sigma": 3.0}}
    card = dataset_card(_summary(), identity, settings)
    assert card.startswith("# ImageNet (gaussian), preset sin\n") and '| parameters | `{"sigma": 3.0}` |' in card
    assert "WARNING" not in card and "Painter-by-Numbers" not in card and "seed (painting draws)" not in card
