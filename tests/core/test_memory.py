"""The memory model that sizes batches up front, against the activations a forward pass holds."""

import pytest
import torch

from adain.core.memory import HEADROOM, batch_limit, bytes_per_image, values_per_pixel
from adain.core.model import AdaIN


def _measured_values_per_pixel(height: int, width: int) -> float:
    """The largest input + output of any layer in a real forward pass (forward hooks), per
    content pixel: what the model's arithmetic claims, counted independently."""
    torch.manual_seed(0)
    model = AdaIN().eval()
    largest = [0]

    def hook(_module, inputs, output):
        largest[0] = max(largest[0], inputs[0].numel() + output.numel())

    handles = [layer.register_forward_hook(hook) for layer in [*model.encoder, *model.decoder]]
    try:
        with torch.inference_mode():
            stats = torch.rand(1, 512) + 0.1
            model(torch.rand(1, 3, height, width), stats, stats, 1.0)
    finally:
        for handle in handles:
            handle.remove()
    return largest[0] / (height * width)


@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_the_counted_peak_is_the_largest_layer_of_a_real_pass(size):
    measured = _measured_values_per_pixel(*size)
    # the model ignores the 1-pixel borders of reflection padding: within (1 + 2/h)(1 + 2/w)
    assert values_per_pixel() == 128
    assert values_per_pixel() <= measured <= values_per_pixel() * (1 + 2 / size[0]) * (1 + 2 / size[1])


def test_batch_limits():
    assert bytes_per_image(224, 224, 4) == HEADROOM * 128 * 4 * 224 * 224
    assert batch_limit(224, 224, 4, 40e9) == 778 and batch_limit(224, 224, 2, 40e9) == 1557
    assert batch_limit(3000, 4000, 4, 40e9) == 3
    assert batch_limit(8000, 8000, 4, 1e9) == 1  # alone, it is tried (and rejected if refused)
    with pytest.raises(ValueError, match="positive size"):
        batch_limit(0, 10, 4, 1e9)
