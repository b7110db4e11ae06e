"""What Top-K neurons see: the Top-K mask (one definition with the inference-time Top-K), the
network built from the release file, the losses against a plain restatement of the authors'
formulas, L-BFGS in float64, histogram matching, ``adain synthesize`` end to end and the rule
``synthesize_topk``, all on the CPU with tiny images and random weights in the release format."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from adain.cli.main import main
from adain.core.model import ENCODER_CUT, WeightsError, load_adain
from adain.evaluation.gatys_vgg import GATYS_LAYERS, gatys_vgg, vgg19_layer_names
from adain.evaluation.histogram import match_histograms
from adain.evaluation.settings import MASKS, TASK_DEFAULTS, TASKS, SynthesisSettings
from adain.evaluation.synthesis import (
    LAYER_WEIGHT,
    gram_matrix,
    select_mask,
    start_point,
    synthesis_loss,
    synthesis_targets,
    synthesize,
)
from adain.evaluation.topk import topk_mask, topk_spatial
from tests.conftest import photo

# --- the Top-K mask ---------------------------------------------------------------------------------


def test_topk_mask_on_hand_made_tensors():
    x = torch.tensor(
        [
            [
                [[3.0, -5.0], [1.0, 0.0]],
                [
                    [
                        0.5,
                        0.25,
                    ],
                    [-4.0, 2.0],
                ],
            ]
        ]
    )
    assert topk_mask(x, 0.5).tolist() == [[[[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]]]]
    # by absolute value: -5 beats 3, -4 beats 2
    assert topk_mask(x, 0.25).tolist() == [[[[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]]]
    assert topk_mask(x, 1.0).tolist() == torch.ones_like(x).tolist()
    assert topk_mask(x.double(), 0.5).dtype == torch.float64


def test_topk_mask_counts_and_order_per_sample_and_channel():
    x = torch.randn(3, 4, 7, 5, generator=torch.Generator().manual_seed(0))
    for k, keep in [(0.05, 1), (0.1, 3), (0.25, 8), (0.5, 17), (0.99, 34), (1.0, 35)]:
        mask = topk_mask(x, k)
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert (mask.sum(dim=(2, 3)) == keep).all(), k
        kept = torch.where(mask.bool(), x.abs(), torch.inf).amin(dim=(2, 3))
        dropped = torch.where(mask.bool(), -torch.inf, x.abs()).amax(dim=(2, 3))
        assert (kept > dropped).all(), k  # every kept |value| beats every dropped one, channel by channel


def test_topk_mask_rounds_the_count_down_as_the_authors_and_keeps_at_least_one():
    x = torch.randn(1, 2, 10, 10, generator=torch.Generator().manual_seed(1))
    assert 0.47 * 10 * 10 < 47  # the float product, (k * h) * w: int() makes it 46, as the authors' code
    assert (topk_mask(x, 0.47).sum(dim=(2, 3)) == 46).all()
    assert (topk_mask(x, 0.05).sum(dim=(2, 3)) == 5).all()
    assert (topk_mask(x, 0.009).sum(dim=(2, 3)) == 1).all()  # k * h * w = 0.9 < 1: one position
    assert (topk_mask(torch.randn(1, 1, 2, 2), 0.2).sum() == 1).all()  # 0.8 -> 1


def test_topk_mask_ties_keep_exactly_the_count():
    assert topk_mask(torch.full((1, 2, 4, 4), 2.0), 0.25).sum(dim=(2, 3)).tolist() == [[4.0, 4.0]]
    # after a ReLU: three non-zeros and k asking for five -> the three and two of the zeros;
    # which zeros does not change the masked responses
    x = torch.zeros(1, 1, 4, 5)
    x[0, 0, 1, 2], x[0, 0, 3, 0], x[0, 0, 2, 4] = 1.0, 2.0, 3.0
    mask = topk_mask(x, 0.25)
    assert mask.sum() == 5 and mask[0, 0, 1, 2] == mask[0, 0, 3, 0] == mask[0, 0, 2, 4] == 1
    assert torch.equal(x * mask, x) and torch.equal(x * (1 - mask), torch.zeros_like(x))


def test_nontopk_is_the_complement_and_all_is_ones():
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(2))
    top, rest, every = (select_mask(x, m, 0.1) for m in ("topk", "nontopk", "all"))
    assert torch.equal(top + rest, torch.ones_like(x)) and torch.equal(top * rest, torch.zeros_like(x))
    assert torch.equal(every, torch.ones_like(x))
    assert (rest.sum(dim=(2, 3)) == 36 - 3).all()
    with pytest.raises(ValueError, match="mask"):
        select_mask(x, "reverse", 0.1)


def test_topk_mask_rejects_bad_input_and_passes_no_gradient():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        topk_mask(torch.zeros(3, 4, 4), 0.5)
    for k in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            topk_mask(torch.zeros(1, 1, 4, 4), k)
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    assert not topk_mask(x, 0.5).requires_grad


def _reference_topk(x: torch.Tensor, k: float) -> torch.Tensor:
    """Top-K restated: sort each channel's |values| (distinct here) and keep the first count."""
    n, c, h, w = x.shape
    keep = max(1, int(k * h * w))
    order = x.abs().reshape(n, c, h * w).argsort(dim=2, descending=True)
    mask = torch.zeros(n, c, h * w, dtype=x.dtype)
    for i in range(n):
        for j in range(c):
            mask[i, j, order[i, j, :keep]] = 1
    return mask.reshape(n, c, h, w)


def test_inference_topk_uses_the_same_mask():
    x = torch.randn(2, 5, 9, 7, generator=torch.Generator().manual_seed(3))
    for k in (0.01, 0.05, 0.2, 0.5, 1.0):
        assert torch.equal(topk_mask(x, k), _reference_topk(x, k)), k
        assert torch.equal(topk_spatial(x, k), x * topk_mask(x, k)), k
    assert torch.equal(topk_spatial(x, 1.0), x)


# --- the network -------------------------------------------------------------------------------------

#: Where pytorch-AdaIN's net.py puts VGG-19's convolutions (after its 1x1 conv and reflection pads).
RELEASE_CONV_INDEX = {"conv1_1": 2, "conv1_2": 5, "conv2_1": 9, "conv3_1": 16, "conv4_1": 29, "conv4_4": 38}


def test_network_from_release_weights_is_gatys_vgg_with_average_pools(weights):
    network = gatys_vgg(weights[0])
    names = vgg19_layer_names()
    assert len(names) == 37 and names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert list(network.layers) == names[: names.index("pool4") + 1] and len(network.net) == 28
    assert network.indices() == [1, 4, 9, 18, 27] and GATYS_LAYERS == ("relu1_1", "pool1", "pool2", "pool3", "pool4")
    kinds = {name: type(layer) for name, layer in network.net.named_children()}
    assert [n for n, t in kinds.items() if t is nn.AvgPool2d] == ["pool1", "pool2", "pool3", "pool4"]
    assert [n for n, t in kinds.items() if t is nn.ReLU] == [n for n in names[:28] if n.startswith("relu")]
    convs = [layer for layer in network.net if isinstance(layer, nn.Conv2d)]
    assert len(convs) == 12 and all(c.padding == (1, 1) and c.padding_mode == "zeros" for c in convs)
    assert all(
        p.kernel_size == 2 and p.stride == 2 and not p.ceil_mode for p in network.net if isinstance(p, nn.AvgPool2d)
    )
    state = torch.load(weights[0], weights_only=True)
    for name, index in RELEASE_CONV_INDEX.items():
        assert torch.equal(getattr(network.net, name).weight, state[f"{index}.weight"]), name
    assert not any(p.requires_grad for p in network.net.parameters()) and network.random_standin
    assert network.net(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 2, 2)


def test_input_conversion_is_the_release_files_1x1_conv(weights):
    network = gatys_vgg(weights[0])
    rgb = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(4))
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]  # the stand-ins' conv is Caffe's: BGR * 255 - mean pixel
    caffe = torch.stack([255 * b - 103.939, 255 * g - 116.779, 255 * r - 123.68], dim=1)
    assert torch.allclose(network.to_input(rgb), caffe, atol=1e-4)
    assert torch.allclose(network.to_rgb(network.to_input(rgb.double())), rgb.double(), atol=1e-12)


def test_release_settings_rebuild_the_adain_encoder(weights):
    """padding=reflect, pooling=max is how AdaIN runs the file: the project's encoder, exactly."""
    release = gatys_vgg(weights[0], padding="reflect", pooling="max", last=ENCODER_CUT)
    encoder = load_adain(*weights).encoder
    rgb = torch.rand(1, 3, 37, 29, generator=torch.Generator().manual_seed(5))  # odd sizes: ceil_mode counts
    assert torch.allclose(release.net(release.to_input(rgb)), encoder(rgb), rtol=1e-5, atol=1e-3)
    authors = gatys_vgg(weights[0], last=ENCODER_CUT)
    assert authors.net(authors.to_input(rgb)).shape[-2:] == (4, 3)  # average pools round down


def test_network_refuses_files_that_cannot_make_it(weights, tmp_path):
    state = torch.load(weights[0], weights_only=True)
    cut = tmp_path / "vgg_to_relu4_1.pth"
    torch.save({k: v for k, v in state.items() if int(k.split(".")[0]) <= 29}, cut)
    assert gatys_vgg(cut, last="relu4_1").indices(["relu4_1"]) == [20]
    with pytest.raises(WeightsError, match="relu5_4"):
        gatys_vgg(cut)  # pool4 needs conv4_2..conv4_4
    with pytest.raises(WeightsError, match="file not found"):
        gatys_vgg(tmp_path / "missing.pth")
    with pytest.raises(WeightsError, match="swapped"):
        gatys_vgg(weights[1])
    with pytest.raises(ValueError, match="padding"):
        gatys_vgg(weights[0], padding="same")
    with pytest.raises(ValueError, match="no layer"):
        gatys_vgg(weights[0]).indices(["relu5_1"])


# --- the losses against the authors' formulas ---------------------------------------------------------


def _tiny_net(dtype=torch.float64) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
    )
    return net.to(dtype).requires_grad_(False)


TINY_LAYERS = [1, 2, 5]


def _target(dtype=torch.float64) -> torch.Tensor:
    pixels = np.asarray(photo("astronaut", size=(16, 16)), dtype=np.float64) / 255
    return torch.from_numpy(pixels).permute(2, 0, 1)[None].to(dtype) * 255 - 120  # Caffe-like range


def _reference_loss(net, image, target, task, mask, k, weight=1e9):
    """The authors' losses, written plainly: per layer, the responses masked by their own Top-K (or
    its complement, or nothing); Gram = F F^T / (C H W); (w / 4) * sum of squared differences of
    Gram matrices (texture), or of the image's unmasked responses and the target's masked (reconstruct)."""

    def outputs(x):
        found = []
        for i, layer in enumerate(net):
            x = layer(x)
            if i in TINY_LAYERS:
                found.append(x[0])
        return found

    def masked(f):
        if mask == "all":
            return f
        top = _reference_topk(f[None], k)[0]
        return f * (top if mask == "topk" else 1 - top)

    total = 0.0
    for f, t in zip(outputs(image), outputs(target)):
        c, h, w = f.shape
        if task == "texture":
            a, b = masked(f).reshape(c, h * w), masked(t).reshape(c, h * w)
            difference = a @ a.T / (c * h * w) - b @ b.T / (c * h * w)
        else:
            difference = f - masked(t)
        total = total + weight / 4 * (difference**2).sum()
    return total


def _start_image(target, seed):
    """The authors' start: standard normal noise clamped to the target's range."""
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return noise.clamp(float(target.min()), float(target.max()))


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("mask", MASKS)
def test_loss_at_the_start_is_the_authors_formula(task, mask):
    net, target = _tiny_net(), _target()
    image, losses = synthesize(net, TINY_LAYERS, target, task, mask, k=0.2, steps=0, seed=3)
    start = _start_image(target, 3)
    assert torch.allclose(image, start, rtol=0, atol=1e-9)
    assert losses == [pytest.approx(float(_reference_loss(net, start, target, task, mask, 0.2)), rel=1e-10)]
    targets = synthesis_targets(net, TINY_LAYERS, target, task, mask, 0.2)
    at_target = float(synthesis_loss(net, TINY_LAYERS, target, targets, task, mask, 0.2))
    if task == "texture" or mask == "all":  # the image's own mask recomputed: the target is a perfect texture
        assert at_target == 0.0
    else:  # reconstruct: the unmasked target differs from its masked responses by what the mask drops
        assert at_target == pytest.approx(float(_reference_loss(net, target, target, task, mask, 0.2)), rel=1e-12)
        assert at_target > 0


def test_gram_matrix_normalisation():
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    flat = x.reshape(2, 12)
    assert torch.equal(gram_matrix(x)[0], flat @ flat.T / 24)


@pytest.mark.parametrize(("task", "mask"), [("texture", "nontopk"), ("reconstruct", "topk")])
def test_one_lbfgs_step_in_float64_matches_a_plain_restatement(task, mask):
    net, target = _tiny_net(), _target()
    lo, hi = float(target.min()), float(target.max())
    image, losses = synthesize(net, TINY_LAYERS, target, task, mask, k=0.2, steps=1, max_iter=4, lr=1.0, seed=1)

    fraction = ((_start_image(target, 1) - lo) / (hi - lo)).clamp(1e-15, 1 - 1e-15)
    z = torch.log(fraction / (1 - fraction)).requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [z], lr=1.0, max_iter=4, tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = _reference_loss(net, lo + (hi - lo) / (1 + torch.exp(-z)), target, task, mask, 0.2)
        loss.backward()
        return loss

    optimizer.step(closure)
    expected = (lo + (hi - lo) / (1 + torch.exp(-z))).detach()
    assert image.dtype == torch.float64
    assert torch.allclose(image, expected, rtol=0, atol=1e-9 * (hi - lo))
    assert losses[1] == pytest.approx(float(_reference_loss(net, expected, target, task, mask, 0.2)), rel=1e-6)
    assert losses[1] < losses[0]


@pytest.mark.parametrize("task", TASKS)
def test_losses_never_increase_over_the_steps_float32(task):
    net, target = _tiny_net(torch.float32), _target(torch.float32)
    seen = []
    image, losses = synthesize(
        net, TINY_LAYERS, target, task, "topk", k=0.2, steps=4, max_iter=3, progress=lambda *a: seen.append(a)
    )
    assert len(losses) == 5 and all(np.isfinite(losses))
    assert all(after <= before for before, after in zip(losses, losses[1:])), losses
    assert losses[-1] < losses[0]
    assert [s for s, _, _ in seen] == [1, 2, 3, 4] and [loss for _, loss, _ in seen] == losses[1:]
    assert all(b > a for (_, _, a), (_, _, b) in zip(seen, seen[1:]))  # evaluations counted up
    assert image.dtype == torch.float32 and float(image.min()) >= float(target.min()) - 1e-3
    assert float(image.max()) <= float(target.max()) + 1e-3


def test_same_seed_same_result_other_seed_other_result():
    net, target = _tiny_net(torch.float32), _target(torch.float32)
    first = synthesize(net, TINY_LAYERS, target, "texture", "all", steps=2, max_iter=3, seed=7)
    again = synthesize(net, TINY_LAYERS, target, "texture", "all", steps=2, max_iter=3, seed=7)
    other = synthesize(net, TINY_LAYERS, target, "texture", "all", steps=2, max_iter=3, seed=8)
    assert torch.equal(first[0], again[0]) and first[1] == again[1]
    assert not torch.equal(first[0], other[0])


def test_defaults_are_the_authors_and_bad_calls_are_refused():
    assert TASK_DEFAULTS == {"texture": {"steps": 100, "lr": 1.0}, "reconstruct": {"steps": 1, "lr": 10.0}}
    assert LAYER_WEIGHT == 1e9
    net, target = _tiny_net(), _target()
    # the reconstruction's default is one step of up to 20 iterations: a few dozen evaluations at most
    counted = []
    _, losses = synthesize(net, TINY_LAYERS, target, "reconstruct", "all", progress=lambda *a: counted.append(a))
    assert len(losses) == 2 and len(counted) == 1 and 20 <= counted[0][2] <= 60
    for call, message in [
        (dict(task="style"), "task"),
        (dict(mask="reverse"), "mask"),
        (dict(k=0.0), "k must be"),
        (dict(steps=-1), "steps"),
        (dict(layers=[9]), "positions"),
        (dict(target=target[0]), r"\(1, 3, H, W\)"),
        (dict(target=target.float()), "float64"),
        (dict(target=torch.full_like(target, 3.0)), "constant"),
        (dict(weights=[1.0, 2.0]), "2 layer weights"),
    ]:
        arguments = dict(net=net, layers=TINY_LAYERS, target=target, steps=0) | call
        with pytest.raises(ValueError, match=message):
            synthesize(**arguments)


def test_start_point_is_finite_when_the_noise_clamps():
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))  # range ~[0, 1]: most noise clamps
    z = start_point(target, 0)
    assert z.dtype == torch.float64 and torch.isfinite(z).all()
    assert torch.equal(z, start_point(target, 0)) and not torch.equal(z, start_point(target, 1))


# --- histogram matching -------------------------------------------------------------------------------


def test_histogram_matching_gives_the_reference_distribution_and_keeps_the_order():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(20, 30, 3))
    reference = np.asarray(photo("chelsea", size=(25, 20)))
    matched = match_histograms(image, reference)
    assert matched.dtype == np.uint8 and matched.shape == image.shape
    for c in range(3):
        got, want = np.sort(matched[..., c].ravel()), np.sort(reference[..., c].ravel())
        quantiles = np.linspace(0.02, 0.98, 25)
        span = int(want.max()) - int(want.min())
        assert np.abs(np.quantile(got, quantiles) - np.quantile(want, quantiles)).max() <= span / 100 + 1
        order = np.argsort(image[..., c].ravel(), kind="stable")
        assert (np.diff(matched[..., c].ravel()[order].astype(int)) >= 0).all()  # monotone in the input
        assert want.min() <= got.min() and got.max() <= want.max()
    assert np.array_equal(match_histograms(255 * image - 100, reference), matched)  # only ranks count
    flat = np.zeros((4, 4, 3))
    assert len(np.unique(match_histograms(flat, reference)[..., 0])) == 1  # ties share one value
    with pytest.raises(ValueError, match="channels"):
        match_histograms(image[..., :2], reference)


# --- adain synthesize ----------------------------------------------------------------------------------


def _photos(root):
    (root / "more").mkdir(parents=True)
    photo("astronaut", size=(40, 30)).save(root / "astronaut.png")
    photo("chelsea", size=(30, 30)).save(root / "more" / "astronaut.png")  # a second stem 'astronaut'
    (root / "broken.png").write_bytes(b"not an image")
    return root


def test_synthesize_command_end_to_end(weights, tmp_path, capsys):
    photos, out = _photos(tmp_path / "photos"), tmp_path / "out"
    extra = photo("rocket", size=(20, 20))
    extra.save(tmp_path / "rocket.png")
    argv = ["synthesize", str(photos), str(tmp_path / "rocket.png"), str(tmp_path / "gone.png")]
    argv += ["--vgg", str(weights[0]), "--out", str(out), "--size", "16", "--steps", "1", "--max-iter", "1"]
    assert main([*argv, "--device", "cpu", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 18 pictures of 3 images" in printed and "gone.png: not found" in printed

    summary = json.loads((out / "synthesis.json").read_text())
    names = [record["name"] for record in summary["images"]]
    assert names == ["astronaut", "astronaut-2", "rocket"]
    assert {item["path"]: item["reason"].split(":")[0] for item in summary["skipped"]} == {
        str(photos / "broken.png"): "undecodable",
        str(tmp_path / "gone.png"): "not found",
    }
    settings = summary["settings"]
    assert settings["tasks"] == list(TASKS) and settings["masks"] == list(MASKS) and settings["k"] == 0.05
    assert settings["steps"] == {"texture": 1, "reconstruct": 1} and settings["lr"] == {
        "texture": 1.0,
        "reconstruct": 10.0,
    }
    assert settings["layers"] == list(GATYS_LAYERS) and settings["network"]["pooling"] == "avg"
    assert summary["vgg"]["random_standin"] is True and len(summary["vgg"]["sha256"]) == 64
    for record in summary["images"]:
        source = np.asarray(Image.open(record["source"]).convert("RGB").resize((16, 16), Image.LANCZOS))
        for task in TASKS:
            for mask in MASKS:
                result = record["results"][task][mask]
                assert len(result["losses"]) == 2 and all(np.isfinite(result["losses"]))
                assert result["losses"][1] <= result["losses"][0] and result["evaluations"] >= 2
                picture = np.asarray(Image.open(out / result["png"]))
                assert result["png"] == f"{task}/{record['name']}-{mask}.png" and picture.shape == (16, 16, 3)
                for c in range(3):  # histogram-matched to the photo: its value range, not a flat image
                    assert (
                        source[..., c].min() <= picture[..., c].min() <= picture[..., c].max() <= source[..., c].max()
                    )
                assert picture.std() > 1
    assert (out / "synthesis.pdf").read_bytes().startswith(b"%PDF")
    figure = Image.open(out / "synthesis.png")
    assert figure.width > 400 and figure.height > 3 * 2 * 150  # a row per image and task


def test_synthesize_command_errors(weights, tmp_path, capsys):
    photos = _photos(tmp_path / "photos")
    assert main(["synthesize", str(photos), "--vgg", str(tmp_path / "nope.pth"), "--out", str(tmp_path / "o")]) == 2
    assert f"{tmp_path / 'nope.pth'}: file not found" in capsys.readouterr().err
    assert main(["synthesize", str(photos / "broken.png"), "--vgg", str(weights[0]), "--out", str(tmp_path / "o")]) == 2
    assert "no readable image" in capsys.readouterr().err
    assert main(["synthesize", str(photos), "--vgg", str(weights[0]), "--size", "8"]) == 2
    assert "size must be at least 16" in capsys.readouterr().err


def test_synthesize_help_answers_without_torch():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "adain", "synthesize", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--mask" in result.stdout
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert not [m for m in imported if m.split(".")[0] in ("torch", "torchvision")]


# --- the workflow ----------------------------------------------------------------------------------------


def test_settings_from_config_and_preflight(tmp_path):
    from adain.evaluation.preflight import evaluation_problems
    from adain.stages.settings import config_defaults

    config = config_defaults()
    assert SynthesisSettings.from_config(config) is None and evaluation_problems(config) == []
    config = config_defaults(evaluation={"synthesis": {"images": str(tmp_path / "none")}})
    assert evaluation_problems(config) == [f"evaluation.synthesis.images: folder {tmp_path / 'none'} does not exist"]
    (tmp_path / "empty").mkdir()
    config = config_defaults(evaluation={"synthesis": {"images": str(tmp_path / "empty"), "tasks": ["reconstruct"]}})
    assert "no images" in evaluation_problems(config)[0]
    settings = SynthesisSettings.from_config(config)
    assert settings.tasks == ("reconstruct",) and settings.masks == MASKS and settings.k == 0.05
    assert (settings.size, settings.max_iter, settings.steps_of("reconstruct"), settings.lr_of("reconstruct")) == (
        256,
        20,
        1,
        10.0,
    )


def test_rule_synthesize_topk_runs_only_when_set(weights, tmp_path):
    """A dry run without evaluation.synthesis schedules no synthesize_topk; with it, the rule makes
    the pictures, the JSON and the figure."""
    import yaml

    from tests.workflow_utils import REPO, run_workflow

    photos = _photos(tmp_path / "photos")
    base = dict(
        content_dir=REPO / "demo" / "imagenet",
        style_dir=REPO / "demo" / "paintings",
        vgg_weights=weights[0],
        decoder_weights=weights[1],
        device="cpu",
        output_dir=tmp_path / "out",
    )
    assert ": synthesize_topk (log: " not in run_workflow(tmp_path, "-n", **base).stdout
    settings = {"images": str(photos), "tasks": ["reconstruct"], "masks": ["all", "nontopk"], "size": 16, "max_iter": 1}
    (tmp_path / "synthesis.yaml").write_text(yaml.safe_dump({"evaluation": {"synthesis": settings}}))
    dry = run_workflow(tmp_path, "-n", configfiles=[tmp_path / "synthesis.yaml"], **base).stdout
    assert ": synthesize_topk (log: " in dry  # its job, as its rule's message says it
    folder = tmp_path / "out" / "evaluation" / "synthesis"
    run_workflow(tmp_path, str(folder), configfiles=[tmp_path / "synthesis.yaml"], **base)
    summary = json.loads((folder / "synthesis.json").read_text())
    assert [r["name"] for r in summary["images"]] == ["astronaut", "astronaut-2"]
    assert sorted(p.name for p in (folder / "reconstruct").iterdir()) == sorted(
        f"{name}-{mask}.png" for name in ("astronaut", "astronaut-2") for mask in ("all", "nontopk")
    )
    assert (folder / "synthesis.pdf").is_file() and (folder / "synthesis.png").is_file()
    assert "skipped" in (tmp_path / "out" / "logs" / "evaluation" / "synthesize_topk.log").read_text()
