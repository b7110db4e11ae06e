"""Checks of the configuration's ``evaluation`` section before a run starts (see
:func:`adain.run.preflight.check_run`, which the workflow gives these problems)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["evaluation_problems", "synthesis_problems", "analysis_problems"]

#: Architectures whose stages f1..f5 the analyses read by default (torchvision's ResNet family).
_RESNETS = ("resnet", "resnext", "wide_resnet")


def evaluation_problems(config: dict) -> list[str]:
    """The ``evaluation`` section: model files and architectures, stimuli, splits; synthesis."""
    evaluation = config.get("evaluation") or {}
    models = evaluation.get("models") or {}
    if not models:
        return synthesis_problems(config)
    from .classifier import TORCHVISION_PREFIX, ClassifierError, is_remote, is_torchscript, torchvision_weights_file
    from .topk import TOPK_PRESETS

    problems = []
    for name, model in models.items():
        weights, arch = model["weights"], model.get("arch")
        try:
            if weights.startswith(TORCHVISION_PREFIX):
                torchvision_weights_file(arch, weights, download=False)
            elif is_remote(weights):
                pass  # a URL: fetched by the job
            elif not Path(weights).is_file():
                problems.append(f"evaluation.models.{name}: weights file {weights} not found")
            elif not arch and not is_torchscript(weights):
                problems.append(f"evaluation.models.{name}: {weights} is a state_dict; give its arch")
            if model.get("topk") and not model.get("topk_at") and arch not in TOPK_PRESETS:
                problems.append(
                    f"evaluation.models.{name}: topk needs topk_at ({', '.join(TOPK_PRESETS)} or module names)"
                )
        except ClassifierError as error:
            problems.append(f"evaluation.models.{name}: {error}")
    stimuli, shapes, textures = (evaluation.get(k, "") for k in ("stimuli", "shapes", "textures"))
    if stimuli and not Path(stimuli).is_dir():
        problems.append(f"evaluation.stimuli {stimuli} does not exist")
    if not stimuli and bool(shapes) != bool(textures):
        problems.append("evaluation: give both shapes and textures to make a cue-conflict set")
    for folder in (shapes, textures) if not stimuli else ():
        if folder and not Path(folder).is_dir():
            problems.append(f"evaluation: folder {folder} does not exist")
    missing = [s for s in evaluation.get("accuracy_splits", []) if s not in config["splits"]]
    if missing:
        problems.append(f"evaluation.accuracy_splits {missing} are not among splits {config['splits']}")
    problems += analysis_problems(config)
    dimensions, refined_bias = evaluation.get("dimensions") or {}, evaluation.get("refined_bias") or {}
    analyses = dimensions.get("split") or dimensions.get("svoc") or refined_bias.get("data")
    if not (stimuli or shapes or evaluation.get("accuracy_splits") or analyses):
        problems.append(
            "evaluation.models is set but there is nothing to evaluate on: set stimuli, shapes and "
            "textures, or accuracy_splits (or dimensions, refined_bias)"
        )
    return problems + synthesis_problems(config)


def synthesis_problems(config: dict) -> list[str]:
    """``evaluation.synthesis``: its folder of photos exists and holds some."""
    images = ((config.get("evaluation") or {}).get("synthesis") or {}).get("images")
    if not images:
        return []
    from ..files.imagefiles import list_images
    from .settings import IMAGE_EXTENSIONS

    if not Path(images).is_dir():
        return [f"evaluation.synthesis.images: folder {images} does not exist"]
    if not list_images(images, IMAGE_EXTENSIONS):
        return [f"evaluation.synthesis.images: no images ({', '.join(IMAGE_EXTENSIONS)}) under {images}"]
    return []


def analysis_problems(config: dict) -> list[str]:
    """The ``evaluation`` section's ``dimensions``, ``decodability`` and ``refined_bias``: folders,
    the split and its styles per image, and layers for models that are not ResNets."""
    evaluation = config.get("evaluation") or {}
    dimensions = evaluation.get("dimensions") or {}
    decodability = evaluation.get("decodability") or {}
    refined_bias = evaluation.get("refined_bias") or {}
    problems = []
    split, svoc = dimensions.get("split"), dimensions.get("svoc")
    if split and svoc:
        problems.append("evaluation.dimensions: give split or svoc, not both")
    if split and split not in config["splits"]:
        problems.append(f"evaluation.dimensions.split {split!r} is not among splits {config['splits']}")
    if split and int(config.get("styles_per_image", 1)) < 2:
        problems.append("evaluation.dimensions.split needs styles_per_image >= 2 (shape pairs: one content twice)")
    for key, folder in (("dimensions.svoc", svoc), ("refined_bias.data", refined_bias.get("data"))):
        if folder and not Path(folder).is_dir():
            problems.append(f"evaluation.{key} {folder} does not exist")
    if decodability.get("enabled") and not (evaluation.get("stimuli") or evaluation.get("shapes")):
        problems.append("evaluation.decodability needs cue-conflict stimuli (stimuli, or shapes and textures)")
    wanted = {
        "dimensions.stages": (bool(split or svoc), dimensions.get("stages")),
        "decodability.layers": (bool(decodability.get("enabled")), decodability.get("layers")),
    }
    for name, model in (evaluation.get("models") or {}).items():
        arch = model.get("arch") or ""
        for key, (on, layers) in wanted.items():
            if on and not arch:
                problems.append(f"evaluation.{key}: {name} needs its arch (layers are read from torchvision models)")
            elif on and not layers and not arch.startswith(_RESNETS):
                problems.append(f"evaluation.{key}: {name} ({arch}) is not a ResNet; name the layers to read")
    return problems
