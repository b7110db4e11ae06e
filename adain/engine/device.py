"""Where stylizing runs: the device and dtype (CUDA when it answers), the numerics every CUDA entry
point uses (:func:`exact_numerics`: IEEE float32, deterministic cuDNN), what else decides the bits
(:func:`cuda_environment`), outputs quantized as ``torchvision.utils.save_image`` does, and
:class:`DeviceQueue`, which runs work on the device in submission order off the caller's thread (a
CUDA side stream fed from pinned memory, or one compute thread on the CPU)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import torch

__all__ = [
    "exact_numerics",
    "use_device",
    "cuda_environment",
    "resolve_device",
    "resolve_dtype",
    "quantize",
    "DeviceQueue",
]

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


@contextlib.contextmanager
def exact_numerics(device: torch.device | str) -> Iterator[None]:
    """Within the block, CUDA float32 work is IEEE float32 and cuDNN picks its convolution
    algorithms deterministically; the process's settings are restored on exit. A no-op elsewhere.

    * TF32 off for cuDNN convolutions and matrix products (torch 2.14 leaves cuDNN convolutions in
      TF32, which would make "float32" inexact on Ampere and later GPUs): part of every CUDA
      shard's identity.
    * ``cudnn.benchmark`` off (an algorithm timed at run time can differ between two processes, so
      a resumed job could compute other bits) and ``cudnn.deterministic`` on (no algorithm with
      atomics). cuDNN's heuristics still choose by shape, batch size included: the same batches
      give the same bits, a batch split differently gives float32-close ones (docs/resume.md).

    One way for every CUDA entry point (:class:`adain.engine.stylizer.Stylizer`,
    :class:`adain.engine.augment.StyleAugment`, the classifiers of :mod:`adain.evaluation`). Only the
    per-operator ``fp32_precision`` settings are touched, and they are put back as they were, so
    the legacy ``allow_tf32`` flags and ``torch.backends.cudnn.flags()`` keep working afterwards
    (mixing the two APIs makes torch refuse both for the rest of the process). Restoring them also
    keeps a training job's own TF32 choice for its model outside the block.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    saved_flags = cudnn.benchmark, cudnn.deterministic
    precisions = _precision_settings()
    saved = [(owner, owner.fp32_precision) for owner in precisions]
    legacy = None if precisions else (cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        cudnn.benchmark, cudnn.deterministic = False, True
        for owner in precisions:
            owner.fp32_precision = "ieee"
        if legacy is not None:  # a torch without per-operator settings (< 2.9)
            cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic = saved_flags
        for owner, value in saved:
            owner.fp32_precision = value
        if legacy is not None:
            cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = legacy


def _precision_settings() -> list:
    """The per-operator float32 precision settings that decide cuDNN convolutions and CUDA matrix
    products (torch >= 2.9), or none on older torch."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    matmul = torch.backends.cuda.matmul
    if conv is None or not hasattr(conv, "fp32_precision") or not hasattr(matmul, "fp32_precision"):
        return []
    return [conv, matmul]


def use_device(device: torch.device) -> None:
    """Make ``cuda:N`` the current device of this process, so that CUDA's context, pinned
    memory and the caching allocator's streams live on that GPU and not also on GPU 0."""
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)


def cuda_environment(device: torch.device) -> dict:
    """What, besides the settings, decides a device's bits: the device's name, torch and, on CUDA,
    the CUDA and cuDNN versions and the compute capability (recorded in each shard; a checkpoint
    made under another environment is not resumed, :func:`adain.stages.stylize_shard.stylize_shard`)."""
    found = {"torch": torch.__version__.split("+")[0]}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        found.update(
            device_name=properties.name,
            capability=f"{properties.major}.{properties.minor}",
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    else:
        found.update(device_name=_cpu_name())
    return found


def _cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo; elsewhere ``platform``): oneDNN picks
    other kernels for other instruction sets."""
    import platform

    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    an event recorded after it; waiting for that event blocks the thread instead of spinning a
    core. CPU: one compute thread (torch releases the GIL while it computes), so decoding and
    writing go on meanwhile. The same code runs on both.
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
            event = torch.cuda.Event(blocking=True)
            event.record(self.stream)
        except BaseException as error:  # noqa: BLE001 - delivered where the result is read
            future.set_exception(error)
            return future
        return _CudaFuture(result, event)

    def close(self) -> None:
        """Wait for everything submitted: on CUDA, the side stream has finished (no kernel still
        reads or writes a buffer the caller may free or reuse); on the CPU, the thread is done."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        elif self.stream is not None:
            self.stream.synchronize()


class _CudaFuture(Future):
    """A result computed on a CUDA stream, readable once the stream passed ``event``."""

    def __init__(self, result, event) -> None:
        super().__init__()
        self._value, self._event = result, event

    def result(self, timeout=None):  # noqa: ARG002 - the event has no timeout
        self._event.synchronize()
        return self._value
