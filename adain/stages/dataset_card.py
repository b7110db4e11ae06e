"""The dataset card: ``<output_dir>/README.md``, what a built dataset is and how to use it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .counts import RunCounts

if TYPE_CHECKING:
    from .settings import RunSettings

__all__ = ["dataset_card"]

_PRESETS = {
    "sin": "the official Stylized-ImageNet recipe: content Resize(256) + CenterCrop(224), paintings' largest "
    "centred square thumbnailed to 224; uint8 224x224",
    "full": "original size (stylize-datasets): paintings resized to 512 on the shorter side; one PNG/JPEG per image",
    "64": "64x64 (Downsampled-ImageNet convention): the whole image box-squashed, stylized, box-filtered down",
}
_METHODS = {
    "adain": "AdaIN style transfer (Huang & Belongie 2017, pytorch-AdaIN release weights), each image with one "
    "painting drawn at random (seeded)",
    "none": "no stylization: the preset's preprocessing only (plain ImageNet, aligned image for image with SIN)",
}


def dataset_card(summary: dict, identity: dict, settings: RunSettings) -> str:
    """Markdown describing the dataset of ``summary`` (see :func:`adain.stages.summarize.summarize`),
    made with ``identity`` (a shard's ``identity`` attribute) and the run's ``settings``."""
    method = identity.get("method") or settings.stylize.method
    lines = _introduction(summary, method, settings.stylize.preset)
    lines += _how_it_was_made(summary, identity, settings, method)
    lines += _what_it_holds(summary)
    lines += _loading_and_licences(method)
    return "\n".join(lines) + "\n"


def _introduction(summary: dict, method: str, preset: str) -> list[str]:
    lines = ["# " + ("Stylized-ImageNet" if method == "adain" else f"ImageNet ({method})") + f", preset {preset}", ""]
    if summary.get("warning"):
        lines += [
            f"> **WARNING: {summary['warning']}.** These images were made with random weights to try the",
            "> tool; they are not a dataset to train or evaluate on.",
            "",
        ]
    lines += [f"> **Warning:** {warning}." for warning in summary.get("painting_warnings", [])]
    lines += [""] if summary.get("painting_warnings") else []
    lines += [
        "Made by adain-datasets. "
        + _METHODS.get(method, f"the texture-suppression filter `{method}`")
        + "; "
        + _PRESETS.get(preset, preset)
        + ".",
        "",
    ]
    return lines


def _how_it_was_made(summary: dict, identity: dict, settings: RunSettings, method: str) -> list[str]:
    preset = settings.stylize.preset
    lines = [
        "## How it was made",
        "",
        "| setting | value |",
        "|---|---|",
        f"| preset | `{preset}` |",
        f"| method | `{method}` |",
    ]
    if method == "adain":
        weights = identity.get("weights_sha256") or {}
        lines += [
            f"| alpha | {identity.get('alpha')} |",
            f"| seed (painting draws) | {settings.manifest.seed} |",
            f"| paintings drawn from | {summary.get('paintings', '?')} |",
            f"| styles per image | {summary.get('styles_per_image', 1)} (each a sample with its number `k`) |",
            f"| VGG weights sha256 | `{weights.get('vgg', '?')}` |",
            f"| decoder weights sha256 | `{weights.get('decoder', '?')}` |",
            f"| painting statistics digest | `{identity.get('stats_digest', '?')}` |",
        ]
    elif identity.get("method_params"):
        lines.append(f"| parameters | `{json.dumps(identity['method_params'], sort_keys=True)}` |")
    lines += [
        f"| dtype, numerics | `{identity.get('dtype')}`, `{json.dumps(identity.get('numerics'), sort_keys=True)}` |",
        f"| shard size | {settings.manifest.shard_size} |",
        f"| stylization fingerprint (how the images were made; not the seed) | "
        f"`{summary.get('stylization_fingerprint') or summary.get('dataset_fingerprint')}` |",
        f"| speed | {summary.get('images_per_second', 0.0):.1f} images/s (stylizing, all jobs together) |",
        "",
    ]
    return lines


def _what_it_holds(summary: dict) -> list[str]:
    totals = RunCounts.from_summary(summary)
    lines = ["## What it holds", "", f"**{totals.phrase()}.**" + _by_reason(summary), ""]
    lines += [
        "| split | indexed | samples | images | content rejects | classes |",
        "|---|---|---|---|---|---|",
    ]
    for split, counts in summary["splits"].items():
        lines.append(
            f"| {split} | {counts['indexed']} | {counts.get('samples', counts['indexed'])} | {counts['packed']} "
            f"| {counts['rejected']} | {len(counts['classes'])} |"
        )
    lines += [
        "",
        f"{summary['shards']} HDF5 shards under `shards/` (listed in `summary.json`, format in the "
        "project's docs/format.md); every rejected file and its reason in `rejects.tsv`"
        + ("; a rejected painting rejects no image: the draws use the usable ones" if totals.painting_rejects else "")
        + ". Images per class: `summary.json` (`splits.<split>.classes`).",
        "",
    ]
    if summary.get("notes"):
        lines += ["Notes from indexing:", ""] + [f"* {note}" for note in summary["notes"][:20]] + [""]
    return lines


def _by_reason(summary: dict) -> str:
    """`` Content rejects: 1 undecodable. Painting rejects: 1 too small.`` (nothing without rejects)."""
    text = ""
    for kind, reasons in (summary.get("rejects_by_reason") or {}).items():
        if reasons:
            text += (
                f" {kind.capitalize()} rejects: " + ", ".join(f"{n} {reason}" for reason, n in reasons.items()) + "."
            )
    return text


def _loading_and_licences(method: str) -> list[str]:
    lines = [
        "## Loading it",
        "",
        "```python",
        "from torch.utils.data import DataLoader",
        "from adain.data import ShardDataset, ShardStream",
        "",
        'train = ShardDataset(".", split="train")    # (uint8 (3, H, W), label); run from this folder',
        "loader = DataLoader(train, batch_size=256, shuffle=True, num_workers=8)",
        'stream = ShardStream(".", split="train", shuffle_buffer=10_000)  # DDP: equal samples per rank',
        "```",
        "",
        "`adain verify .` re-reads every image against its checksum; `adain export . tree/` writes an ImageFolder tree.",
        "",
        "## Licences",
        "",
        "* The content images are ImageNet's: use them under the ImageNet terms of access (non-commercial research and",
        "  education); the same applies to images derived from them, such as these.",
    ]
    if method == "adain":
        lines += [
            "* The paintings come from Kaggle's Painter-by-Numbers (WikiArt); their own licences apply, and many are",
            "  not free for commercial use. Cite Geirhos et al. (ICLR 2019) and Huang & Belongie (ICCV 2017).",
        ]
    return lines
