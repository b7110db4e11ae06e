"""Where stylizing runs: the device and dtype (CUDA when it answers; TF32 off, so that float32 means
IEEE float32), outputs quantized as ``torchvision.utils.save_image`` does, and :class:`DeviceQueue`,
which runs work on the device in submission order off the caller's thread (a CUDA side stream fed
from pinned memory, or one compute thread on the CPU)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import torch

__all__ = ["disable_tf32", "resolve_device", "resolve_dtype", "quantize", "DeviceQueue"]

log = logging.getLogger(__name__)


def _cuda_usable() -> str | None:
    """``None`` when a CUDA device answers, else why not."""
    if not torch.cuda.is_available():
        return "CUDA is not available"
    try:
        torch.zeros(1, device="cuda").add_(1).item()
    except Exception as error:  # noqa: BLE001 - a broken driver, a busy or lost device, ...
        return f"CUDA is unusable ({type(error).__name__}: {error})"
    return None


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA when it works, else the CPU with a warning) | ``cpu`` | ``cuda`` | ``cuda:N``."""
    if name == "auto":
        problem = _cuda_usable()
        if problem is None:
            return torch.device("cuda")
        from .gpus import visible_gpus

        if torch.cuda.is_available() or visible_gpus():  # a GPU is there but does not answer: say so
            log.warning("device auto: %s; running on the CPU (much slower)", problem)
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} requested but CUDA is not available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) are visible")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device


_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def disable_tf32() -> None:
    """Run float32 convolutions and matrix products in IEEE float32 on CUDA (torch 2.14 leaves
    cuDNN convolutions in TF32, which would make "float32" inexact on Ampere and later GPUs, and a
    resume on another GPU generation mix numerics)."""
    torch.backends.cudnn.conv.fp32_precision = "ieee"
    torch.backends.cuda.matmul.fp32_precision = "ieee"


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:  # noqa: ARG001 - every dtype runs everywhere
    """``float32`` (default: IEEE float32) | ``bfloat16`` | ``float16`` (autocast; the AdaIN
    statistics stay float32). Half precisions run on the CPU too (slowly, unless it has AMX);
    their drift from float32 is in docs/benchmarks.md."""
    if name not in _DTYPES:
        raise ValueError(f"unknown dtype {name!r}; use one of {sorted(_DTYPES)}")
    return _DTYPES[name]


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float ``(B, 3, H, W)`` in [0, 1] -> ``uint8``, rounding as ``torchvision.utils.save_image``."""
    return images.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


class DeviceQueue:
    """Runs work on the device in submission order without blocking the caller.

    CUDA: the work is launched on a side stream (copies from pinned memory, kernels, copies back
    into pinned memory are all asynchronous) and its result is ready once the stream has passed
    an event recorded after it. CPU: one compute thread (torch releases the GIL while it computes),
    so decoding and writing go on meanwhile. The same code runs on both.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.pool = None if self.stream is not None else ThreadPoolExecutor(1, thread_name_prefix="adain-compute")

    def submit(self, work: Callable, *args) -> Future:
        if self.pool is not None:
            return self.pool.submit(work, *args)
        future: Future = Future()
        try:
            with torch.cuda.stream(self.stream):
                result = work(*args)
            event = torch.cuda.Event()
            event.record(self.stream)
        except BaseException as error:  # noqa: BLE001 - delivered where the result is read
            future.set_exception(error)
            return future
        return _CudaFuture(result, event)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _CudaFuture(Future):
    """A result computed on a CUDA stream, readable once the stream passed ``event``."""

    def __init__(self, result, event) -> None:
        super().__init__()
        self._value, self._event = result, event

    def result(self, timeout=None):  # noqa: ARG002 - the event has no timeout
        self._event.synchronize()
        return self._value
