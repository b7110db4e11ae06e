"""Typed settings of the evaluation jobs, built from the configuration's ``evaluation`` section."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EvaluationSettings"]


@dataclass(frozen=True)
class EvaluationSettings:
    """What the evaluation jobs need: the classifiers (``models``: name -> ``{arch, weights,
    topk, topk_at}``), the cue-conflict inputs, sizes, the probability aggregation and the device;
    the analyses' sub-settings as the schema gives them (``dimensions``, ``decodability``,
    ``refined_bias``)."""

    models: dict = field(default_factory=dict)
    shapes: str = ""
    textures: str = ""
    stimulus_size: int = 224
    accuracy_size: int = 224
    aggregation: str = "mean"
    batch_size: int = 32
    stylize_batch_size: int = 16  # making cue-conflict stimuli is stylizing
    device: str = "auto"
    workers: int = 2
    dimensions: dict = field(default_factory=dict)
    decodability: dict = field(default_factory=dict)
    refined_bias: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict) -> EvaluationSettings:
        evaluation = config.get("evaluation") or {}
        return cls(
            models={name: dict(model) for name, model in (evaluation.get("models") or {}).items()},
            shapes=evaluation.get("shapes", ""),
            textures=evaluation.get("textures", ""),
            stimulus_size=int(evaluation.get("stimulus_size", 224)),
            accuracy_size=int(evaluation.get("accuracy_size", 224)),
            aggregation=evaluation.get("aggregation", "mean"),
            batch_size=int(evaluation.get("batch_size", 32)),
            stylize_batch_size=int(config["batch_size"]),
            device=config["device"],
            workers=int(config["workers"]),
            dimensions=dict(evaluation.get("dimensions") or {}),
            decodability=dict(evaluation.get("decodability") or {}),
            refined_bias=dict(evaluation.get("refined_bias") or {}),
        )
