"""Getting the pytorch-AdaIN release weights: download with checks, or random stand-ins.

The release (naoto0804/pytorch-AdaIN, tag v0.0.0) publishes no checksums, so a download is
accepted only if its tensors have the release's keys and shapes (see :mod:`adain.core.model`);
its sha256 is returned for provenance.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path

import torch

from ..files.atomic import atomic_path
from ..files.hashing import file_sha256
from .model import RANDOM_STANDIN_KEY, WeightsError, build_decoder, build_vgg, load_state_dict_file
from .release import RELEASE_FILES, RELEASE_URL

__all__ = ["RELEASE_URL", "RELEASE_FILES", "download_weights", "write_random_weights", "missing_weights_message"]


def missing_weights_message(target: Path, kind: str, reason: str) -> str:
    name = next(name for name, found in RELEASE_FILES.items() if found == kind)
    return (
        f"cannot get {target} ({reason}). Download {RELEASE_URL}/{name} on a machine with internet "
        f"access and put it at {target.resolve()} (or set the path in config.yaml). To try the tool offline, "
        f"`adain weights random {target.parent}` writes random stand-ins (the images are then not meaningful)."
    )


def download_weights(url: str, target: str | Path, kind: str, timeout: float = 60) -> str:
    """Download one release file to ``target``, which must not exist yet; check its shapes; return
    its sha256.

    The file appears under its name only once it is complete and checked, and never replaces an
    existing file (a hard link, which fails if the name exists): a user's weights are never touched.

    Raises:
        FileExistsError: ``target`` exists.
        WeightsError: no network, or the file is not the expected network (message says what to do).
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        raise FileExistsError(f"{target} exists: weights are never overwritten")
    tmp = target.with_name(f".{target.name}.download-{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as handle:
                shutil.copyfileobj(response, handle)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:  # URLError, timeouts, DNS failures are all OSErrors
            raise WeightsError(missing_weights_message(target, kind, f"download failed: {error}")) from None
        load_state_dict_file(tmp, kind)  # raises WeightsError on a wrong or damaged file
        os.link(tmp, target)  # no-clobber: FileExistsError if someone put a file there meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    return file_sha256(target)


def write_random_weights(folder: str | Path, seed: int = 0, force: bool = False) -> tuple[Path, Path]:
    """Random weights saved exactly in the release format (keys, shapes, plain state_dicts), for
    tests, benchmarks and dry runs without a download. Outputs are NOT meaningful images.

    The state_dicts carry a marker in their ``_metadata`` (:func:`adain.core.model.is_random_standin`),
    so shards, summaries and grids made with them say so.

    Raises:
        FileExistsError: a target file exists and ``force`` is false.

    He-initialised so activations keep their scale; the first 1x1 conv does the Caffe-style
    RGB -> BGR*255 - mean step of the real file; the decoder's last conv is calibrated on a smooth
    test pattern to mean 0.5 and std 0.15 per channel, so outputs span [0, 1].

    Returns:
        ``(vgg_normalised.pth, decoder.pth)`` paths inside ``folder``.
    """
    generator = torch.Generator().manual_seed(seed)
    vgg, decoder = build_vgg(), build_decoder()
    with torch.no_grad():
        for net in (vgg, decoder):
            for layer in net:
                if isinstance(layer, torch.nn.Conv2d):
                    fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
                    layer.weight.normal_(0, (2.0 / fan_in) ** 0.5, generator=generator)
                    layer.bias.normal_(0, 0.01, generator=generator)
        vgg[0].weight.zero_()
        for out_channel, in_channel in enumerate((2, 1, 0)):
            vgg[0].weight[out_channel, in_channel] = 255.0
        vgg[0].bias.copy_(-torch.tensor([103.939, 116.779, 123.68]))
        ramp = torch.linspace(0, 1, 64)
        sample = torch.stack(
            [
                ramp[None, :].expand(64, 64),
                ramp[:, None].expand(64, 64),
                (torch.sin(ramp * 20)[None, :] * torch.cos(ramp * 13)[:, None] + 1) / 2,
            ]
        )[None]
        encoder = vgg[: len(build_vgg("relu4_1"))]
        last = decoder[-1]
        last.bias.zero_()
        out = decoder(encoder(sample))
        last.weight.mul_((0.15 / out.std(dim=(0, 2, 3))).view(3, 1, 1, 1))
        last.bias.copy_(0.5 - decoder(encoder(sample)).mean(dim=(0, 2, 3)))
    folder = Path(folder)
    paths = folder / "vgg_normalised.pth", folder / "decoder.pth"
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(existing)} exist(s): not overwritten (use --force to replace them)")
    folder.mkdir(parents=True, exist_ok=True)
    for net, path in zip((vgg, decoder), paths):
        state = net.state_dict()
        state._metadata[RANDOM_STANDIN_KEY] = True  # noqa: SLF001 - torch's own metadata slot, kept by torch.save
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    return paths
