"""An independent, literal re-statement of the published AdaIN pipeline, the stylize-datasets way:
one image at a time, the painting re-encoded every time, ``vgg[:31]``, output not cropped.

Written here without ``adain.core.model`` so that a mistake in the package's layer tables is caught.
"""

import torch
import torchvision.transforms as T
from PIL import Image
from torch import nn


def _pad():
    return nn.ReflectionPad2d((1, 1, 1, 1))


def reference_vgg() -> nn.Sequential:
    def conv(i, o):
        return [_pad(), nn.Conv2d(i, o, (3, 3)), nn.ReLU()]

    pool = lambda: nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)  # noqa: E731
    layers = [nn.Conv2d(3, 3, (1, 1))]
    layers += conv(3, 64) + conv(64, 64) + [pool()]
    layers += conv(64, 128) + conv(128, 128) + [pool()]
    layers += conv(128, 256) + conv(256, 256) + conv(256, 256) + conv(256, 256) + [pool()]
    layers += conv(256, 512) + conv(512, 512) + conv(512, 512) + conv(512, 512) + [pool()]
    layers += conv(512, 512) + conv(512, 512) + conv(512, 512) + conv(512, 512)
    return nn.Sequential(*layers)


def reference_decoder() -> nn.Sequential:
    up = lambda: nn.UpsamplingNearest2d(scale_factor=2)  # noqa: E731
    layers = [_pad(), nn.Conv2d(512, 256, (3, 3)), nn.ReLU(), up()]
    for i, o in [(256, 256), (256, 256), (256, 256), (256, 128)]:
        layers += [_pad(), nn.Conv2d(i, o, (3, 3)), nn.ReLU()]
    layers += [up(), _pad(), nn.Conv2d(128, 128, (3, 3)), nn.ReLU(), _pad(), nn.Conv2d(128, 64, (3, 3)), nn.ReLU()]
    layers += [up(), _pad(), nn.Conv2d(64, 64, (3, 3)), nn.ReLU(), _pad(), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)


def _mean_std(feat, eps=1e-5):
    n, c = feat.shape[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def reference_adain(content_feat, style_feat):
    s_mean, s_std = _mean_std(style_feat)
    c_mean, c_std = _mean_std(content_feat)
    return (content_feat - c_mean) / c_std * s_std + s_mean


def reference_coral(source, target):
    """pytorch-AdaIN's colour preservation, one (3, H, W) image pair, as its function ``coral``:
    standardise each image's colours, whiten the source's by its matrix square root (via SVD),
    colour them with the target's, restore the target's mean and std."""

    def flat_mean_std(feat):
        flat = feat.view(3, -1)
        return flat, flat.mean(dim=-1, keepdim=True), flat.std(dim=-1, keepdim=True)

    def sqrt_matrix(x):
        u, d, v = torch.svd(x)
        return u @ d.pow(0.5).diag() @ v.t()

    source_flat, source_mean, source_std = flat_mean_std(source)
    source_norm = (source_flat - source_mean) / source_std
    source_cov = source_norm @ source_norm.t() + torch.eye(3)
    target_flat, target_mean, target_std = flat_mean_std(target)
    target_norm = (target_flat - target_mean) / target_std
    target_cov = target_norm @ target_norm.t() + torch.eye(3)
    transfer = sqrt_matrix(target_cov) @ torch.inverse(sqrt_matrix(source_cov)) @ source_norm
    return (transfer * target_std + target_mean).view(source.size())


class ReferenceStylizer:
    """stylize-datasets' loop body, one (content, painting) pair per call."""

    def __init__(self, vgg_path, decoder_path):
        vgg, decoder = reference_vgg(), reference_decoder()
        vgg.load_state_dict(torch.load(vgg_path))
        decoder.load_state_dict(torch.load(decoder_path))
        self.vgg = nn.Sequential(*list(vgg.children())[:31]).eval()
        self.decoder = decoder.eval()

    @staticmethod
    def transform(size, crop=0):
        steps = ([T.Resize(size)] if size else []) + ([T.CenterCrop(crop)] if crop else [])
        return T.Compose(steps + [T.ToTensor()])

    def __call__(
        self, content_path, style_path, alpha=1.0, content_size=0, crop=0, style_size=512, preserve_color=False
    ):
        """Returns the saved pixels, uint8 (H', W', 3), H' = 8 * ceil(H / 8) as the reference writes."""
        content = self.transform(content_size, crop)(Image.open(content_path).convert("RGB")).unsqueeze(0)
        style = self.transform(style_size)(Image.open(style_path).convert("RGB")).unsqueeze(0)
        if preserve_color:
            style = reference_coral(style[0], content[0]).unsqueeze(0)
        with torch.no_grad():
            content_f, style_f = self.vgg(content), self.vgg(style)
            feat = reference_adain(content_f, style_f) * alpha + content_f * (1 - alpha)
            out = self.decoder(feat)
        return out[0].mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
