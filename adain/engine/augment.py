"""On-the-fly stylization for training: AdaIN as a data augmentation, on any device.

Instead of (or beside) a stored Stylized-ImageNet, each training batch is stylized as it passes,
with a random painting per sample from a bank of painting statistics (a run's
``paintings/stats.h5``), so every epoch sees new painting-image pairs::

    augment = StyleAugment("weights/vgg_normalised.pth", "weights/decoder.pth",
                           "out/paintings/stats.h5", p=0.5, alpha=(0.5, 1.0),
                           generator=torch.Generator().manual_seed(0)).to("cuda")
    for images, labels in loader:                 # float (B, 3, H, W) in [0, 1]
        images = augment(images.to("cuda"))      # about half the batch stylized
        loss = criterion(model(normalize(images)), labels.to("cuda"))

With ``p=1``, ``alpha=1`` and given painting rows, the output equals the offline pipeline's for
those paintings (before quantization; tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..core.functional import adain_with_stats
from ..core.model import load_adain
from .device import exact_numerics

__all__ = ["StyleAugment", "load_bank"]


def load_bank(bank: str | Path | torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """Painting statistics ``(N, 2, 512)`` float32 (``[:, 0]`` mean, ``[:, 1]`` std of relu4_1)
    and their names: from a run's ``stats.h5`` (datasets ``names``, ``stats``) or a tensor."""
    if isinstance(bank, torch.Tensor):
        if bank.dim() != 3 or bank.shape[1:] != (2, 512):
            raise ValueError(f"a bank tensor must be (N, 2, 512), got {tuple(bank.shape)}")
        return bank.float(), [str(i) for i in range(len(bank))]
    import h5py

    path = Path(bank)
    if not path.is_file():
        raise FileNotFoundError(f"painting statistics {path} do not exist (a run's paintings/stats.h5)")
    with h5py.File(path, "r") as handle:
        names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in handle["names"][()]]
        stats = torch.from_numpy(handle["stats"][()]).float()
    return stats, names


class StyleAugment(nn.Module):
    """Stylize each sample of a batch with probability ``p`` by a random painting of ``bank``.

    Args:
        vgg, decoder: the pytorch-AdaIN release weight files (paths).
        bank: a run's ``paintings/stats.h5`` or a ``(N, 2, 512)`` tensor; :attr:`names` lists its
            rows in order.
        p: probability that a sample is stylized (when ``forward`` is given no rows).
        alpha: stylization strength: a float in [0, 1], or ``(low, high)`` drawn per sample.
        generator: a CPU ``torch.Generator``: the same generator state, the same draws.
    """

    def __init__(
        self,
        vgg: str | Path,
        decoder: str | Path,
        bank: str | Path | torch.Tensor,
        p: float = 0.5,
        alpha: float | Sequence[float] = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}")
        low, high = (alpha, alpha) if isinstance(alpha, (int, float)) else tuple(alpha)
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"alpha must be a float or a (low, high) range within [0, 1], got {alpha}")
        self.model = load_adain(vgg, decoder)
        stats, self.names = load_bank(bank)
        if not len(stats):
            raise ValueError("the painting bank is empty")
        self.register_buffer("bank", stats, persistent=False)
        self.p, self.alpha, self.generator = p, (float(low), float(high)), generator

    def draw(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(B,)`` (-1: unchanged) and strengths ``(B,)`` for a batch, from the generator."""
        stylized = torch.rand(batch, generator=self.generator) < self.p
        rows = torch.randint(len(self.bank), (batch,), generator=self.generator)
        return torch.where(stylized, rows, torch.full_like(rows, -1)), self._alphas(batch)

    def _alphas(self, batch: int) -> torch.Tensor:
        low, high = self.alpha
        return (
            low + (high - low) * torch.rand(batch, generator=self.generator)
            if high > low
            else torch.full((batch,), low)
        )

    @torch.no_grad()
    def forward(self, images: torch.Tensor, paintings: torch.Tensor | None = None) -> torch.Tensor:
        """``images`` float ``(B, 3, H, W)`` in [0, 1] (any H, W >= 9); ``paintings`` an optional
        ``(B,)`` long tensor of bank rows (-1 leaves that sample unchanged). Returns float
        ``(B, 3, H, W)`` in [0, 1] on the images' device. On CUDA it computes in IEEE float32 with
        deterministic cuDNN, as the offline pipeline does, and leaves the process's own TF32
        settings as they were (:func:`adain.engine.device.exact_numerics`)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
        batch = images.shape[0]
        if paintings is None:
            paintings, alphas = self.draw(batch)
        else:
            paintings = torch.as_tensor(paintings, dtype=torch.long).cpu()
            if paintings.shape != (batch,) or (batch and (paintings.max() >= len(self.bank) or paintings.min() < -1)):
                raise ValueError(f"paintings must be ({batch},) rows of the bank (0..{len(self.bank) - 1}) or -1")
            alphas = self._alphas(batch)
        chosen = (paintings >= 0).nonzero().flatten()
        out = images.clone()
        with exact_numerics(images.device):
            self._stylize_into(out, images, chosen, paintings, alphas)
        return out

    def _stylize_into(
        self, out: torch.Tensor, images: torch.Tensor, chosen: torch.Tensor, paintings: torch.Tensor, alphas
    ) -> None:
        """Samples ``chosen`` of ``images`` stylized by their bank rows, written into ``out``."""
        if not len(chosen):
            return
        index = chosen.to(images.device)
        stats = self.bank[paintings[chosen].to(self.bank.device)].to(images.device)
        content = images[index]
        feats = self.model.encode(content)
        stylized = adain_with_stats(feats, stats[:, 0], stats[:, 1], 1.0)
        alpha = alphas[chosen].to(images.device, feats.dtype).view(-1, 1, 1, 1)
        if not torch.all(alpha == 1):
            stylized = alpha * stylized + (1 - alpha) * feats
        height, width = content.shape[-2:]
        out[index] = self.model.decode(stylized)[..., :height, :width].clamp(0, 1).to(images.dtype)
