"""Checks of the configuration's ``evaluation`` section before a run starts (see
:func:`adain.run.preflight.check_run`, which the workflow gives these problems)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["evaluation_problems", "synthesis_problems"]


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
    if not (stimuli or shapes or evaluation.get("accuracy_splits")):
        problems.append(
            "evaluation.models is set but there is nothing to evaluate on: set stimuli, shapes and "
            "textures, or accuracy_splits"
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
