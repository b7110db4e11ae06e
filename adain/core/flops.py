"""Exact floating-point operation counts of the AdaIN networks, for TFLOP/s beside images/s.

Counted as ``torch.utils.flop_counter.FlopCounterMode`` counts them (convolutions, 2 per
multiply-add; the element-wise AdaIN, ReLU, padding and pooling are not counted and add well under
1%): :func:`stylize_gflop` and :func:`encode_gflop` walk the networks' layer tables
(:data:`adain.core.model.VGG_LAYERS`, :data:`adain.core.model.DECODER_LAYERS`) in microseconds, so a job
counts every image of any size; :func:`counted_gflop` runs ``FlopCounterMode`` itself on the
``meta`` device (no memory, ~1 s the first time) and the tests hold the two equal.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["stylize_gflop", "encode_gflop", "counted_gflop", "tflops"]


def _walk(spec: list[tuple], height: int, width: int, stop: str | None = None) -> tuple[float, int, int]:
    """FLOPs of the layers of ``spec`` (up to the relu named ``stop``) on a ``height x width``
    input, and the output size. ``pad`` + 3x3 ``conv`` keep the size, ``pool`` halves it
    (ceil mode), ``up`` doubles it."""
    flops = 0.0
    for kind, *args in spec:
        if kind == "conv":
            c_in, c_out, k = args
            flops += 2.0 * c_in * c_out * k * k * height * width
        elif kind == "pool":
            height, width = -(-height // 2), -(-width // 2)
        elif kind == "up":
            height, width = 2 * height, 2 * width
        elif kind == "relu" and stop is not None and args[0] == stop:
            break
    return flops, height, width


@lru_cache(maxsize=65536)
def encode_gflop(height: int, width: int) -> float:
    """GFLOP to encode one image of ``height x width`` to relu4_1 (a painting's statistics)."""
    from .model import ENCODER_CUT, VGG_LAYERS

    return _walk(VGG_LAYERS, height, width, ENCODER_CUT)[0] / 1e9


@lru_cache(maxsize=65536)
def stylize_gflop(height: int, width: int) -> float:
    """GFLOP to stylize one content image of ``height x width`` (encoder, AdaIN, decoder)."""
    from .model import DECODER_LAYERS, ENCODER_CUT, VGG_LAYERS

    encoded, h, w = _walk(VGG_LAYERS, height, width, ENCODER_CUT)
    return (encoded + _walk(DECODER_LAYERS, h, w)[0]) / 1e9


def counted_gflop(height: int, width: int, encode_only: bool = False) -> float:
    """The same counts by ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta`` device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .model import AdaIN

    with torch.device("meta"):
        model = AdaIN().eval()
    content = torch.empty(1, 3, height, width, device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        if encode_only:
            model.encode(content)
        else:
            stats = torch.empty(1, 512, device="meta")
            model(content, stats, stats, 1.0)
    return counter.get_total_flops() / 1e9


def tflops(gflop: float, seconds: float) -> float:
    """Achieved TFLOP/s of ``gflop`` done in ``seconds``."""
    return gflop / seconds / 1e3 if seconds > 0 else 0.0
