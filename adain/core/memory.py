"""How much device memory stylizing an image takes, from the networks' layer tables, so that a
batch can be sized up front and running out of memory stays the exception.

In inference each layer of an ``nn.Sequential`` holds its input and its output at once and frees
the input when the next layer starts, so the peak is the largest ``input + output`` over the layers
of the encoder (to relu4_1) and the decoder. For the AdaIN networks that is 128 values per content
pixel (a 64-channel map and its padded or activated copy at full resolution): 512 bytes per pixel
in float32, 256 in half precision. :func:`batch_limit` allows twice that (cuDNN's workspace, the
allocator's rounding, the float32 AdaIN features under autocast) within a share of the device.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["values_per_pixel", "bytes_per_image", "batch_limit", "HEADROOM"]

#: Memory allowed per image over the counted peak of activations.
HEADROOM = 2.0


def _peak(spec: list[tuple], channels: int, scale: float, stop: str | None = None) -> tuple[float, int, float]:
    """The largest ``input + output`` values per content pixel over the layers of ``spec`` (up to
    the relu named ``stop``), and the channels and pixel scale after them."""
    peak = 0.0
    for kind, *args in spec:
        out_channels, out_scale = channels, scale
        if kind == "conv":
            out_channels = args[1]
        elif kind == "pool":
            out_scale = scale / 4
        elif kind == "up":
            out_scale = scale * 4
        peak = max(peak, channels * scale + out_channels * out_scale)
        channels, scale = out_channels, out_scale
        if kind == "relu" and stop is not None and args[0] == stop:
            break
    return peak, channels, scale


@lru_cache(maxsize=1)
def values_per_pixel() -> float:
    """Peak activation values per content pixel of one AdaIN forward pass (encoder to relu4_1,
    decoder); borders of reflection padding are not counted (under 4% at 100 px)."""
    from .model import DECODER_LAYERS, ENCODER_CUT, VGG_LAYERS

    encoder, channels, scale = _peak(VGG_LAYERS, 3, 1.0, ENCODER_CUT)
    decoder, _, _ = _peak(DECODER_LAYERS, channels, scale)
    return max(encoder, decoder)


def bytes_per_image(height: int, width: int, element_size: int) -> float:
    """Device memory one ``height x width`` content takes at the peak, with :data:`HEADROOM`;
    ``element_size`` 4 for float32, 2 for bfloat16/float16 autocast."""
    return HEADROOM * values_per_pixel() * element_size * height * width


def batch_limit(height: int, width: int, element_size: int, budget_bytes: float) -> int:
    """How many ``height x width`` contents fit in ``budget_bytes`` at once (at least 1: a single
    image that does not fit is tried, and rejected if the device refuses it)."""
    if height < 1 or width < 1:
        raise ValueError(f"an image has a positive size, got {width}x{height}")
    return max(1, int(budget_bytes // bytes_per_image(height, width, element_size)))
