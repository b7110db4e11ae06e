import hashlib

import pytest
import torch

from adain.core.model import AdaIN, WeightsError, build_decoder, build_vgg, load_adain, load_state_dict_file
from adain.files.hashing import file_sha256
from tests.reference_adain import reference_decoder, reference_vgg


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_layer_tables_match_the_release_state_dicts():
    assert _shapes(build_vgg()) == _shapes(reference_vgg())
    assert _shapes(build_decoder()) == _shapes(reference_decoder())
    assert len(build_vgg("relu4_1")) == 31  # the reference's enc_layers[:31]


def test_encoder_output_and_crop():
    model = AdaIN()
    assert model.encode(torch.rand(1, 3, 37, 53)).shape == (1, 512, 5, 7)  # ceil-mode pooling
    out = model(torch.rand(2, 3, 37, 53), torch.rand(2, 512), torch.rand(2, 512) + 0.1)
    assert out.shape == (2, 3, 37, 53)


def test_load_records_sha256(weights):
    vgg, decoder = weights
    model = load_adain(vgg, decoder)
    assert model.weights.vgg_sha256 == hashlib.sha256(vgg.read_bytes()).hexdigest() == file_sha256(vgg)
    assert model.weights.decoder_sha256 == file_sha256(decoder)
    assert not model.training
    reference = reference_vgg()
    reference.load_state_dict(torch.load(vgg))
    torch.testing.assert_close(model.encoder[2].weight, reference[2].weight)


def test_swapped_files_are_named(weights):
    vgg, decoder = weights
    with pytest.raises(
        WeightsError, match=r"decoder\.pth: expected the normalised VGG-19.*looks like the AdaIN decoder"
    ):
        load_adain(decoder, vgg)


def test_truncated_file_is_rejected(weights, tmp_path):
    vgg, _ = weights
    broken = tmp_path / "vgg_normalised.pth"
    broken.write_bytes(vgg.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="vgg_normalised.pth: cannot be read"):
        load_state_dict_file(broken, "vgg")


def test_foreign_and_wrong_shaped_files_are_rejected(tmp_path):
    foreign = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, foreign)
    with pytest.raises(WeightsError, match="match neither network"):
        load_state_dict_file(foreign, "decoder")
    state = reference_decoder().state_dict()
    state["5.weight"] = torch.zeros(256, 256, 1, 1)
    bad = tmp_path / "decoder.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match=r"wrong shapes 5\.weight"):
        load_state_dict_file(bad, "decoder")
    with pytest.raises(WeightsError, match="file not found"):
        load_state_dict_file(tmp_path / "missing.pth", "vgg")
    with pytest.raises(WeightsError, match="is a folder, not a weights file"):
        load_state_dict_file(tmp_path, "vgg")


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_with_code_is_refused_without_advice_to_unpickle_it(tmp_path):
    evil = tmp_path / "vgg_normalised.pth"
    torch.save({"0.weight": _Exploit()}, evil)
    with pytest.raises(WeightsError, match="pickled Python objects other than tensors") as error:
        load_state_dict_file(evil, "vgg")
    assert "weights_only" not in str(error.value)


def test_vgg_cut_at_relu4_1_is_accepted_but_shorter_is_not(tmp_path):
    state = reference_vgg().state_dict()
    cut = {k: v for k, v in state.items() if int(k.split(".")[0]) < 31}
    torch.save(cut, tmp_path / "cut.pth")
    assert set(load_state_dict_file(tmp_path / "cut.pth", "vgg")) == set(cut)
    short = {k: v for k, v in state.items() if int(k.split(".")[0]) < 20}
    torch.save(short, tmp_path / "short.pth")
    with pytest.raises(WeightsError, match="missing tensors"):
        load_state_dict_file(tmp_path / "short.pth", "vgg")


def test_random_weights_have_the_release_format(weights):
    vgg, decoder = weights
    assert _shapes_of(torch.load(vgg)) == _shapes(reference_vgg())
    assert _shapes_of(torch.load(decoder)) == _shapes(reference_decoder())


def _shapes_of(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def test_download_without_network_says_what_to_do(tmp_path):
    from adain.core.weights import download_weights

    with pytest.raises(WeightsError, match=r"put it at .*decoder\.pth"):
        download_weights("http://127.0.0.1:9/decoder.pth", tmp_path / "decoder.pth", "decoder", timeout=2)
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


def test_download_rejects_a_wrong_file(tmp_path, weights):
    from adain.core.weights import download_weights

    with pytest.raises(WeightsError, match="swapped"):
        download_weights(weights[0].as_uri(), tmp_path / "decoder.pth", "decoder")
    assert not (tmp_path / "decoder.pth").exists()
    sha = download_weights(weights[1].as_uri(), tmp_path / "decoder.pth", "decoder")
    assert sha == file_sha256(weights[1])
