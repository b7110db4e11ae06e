"""Typed settings of the evaluation jobs, built from the configuration's ``evaluation`` section."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EvaluationSettings", "SynthesisSettings", "TASKS", "MASKS", "TASK_DEFAULTS", "IMAGE_EXTENSIONS"]


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
    synthesis: SynthesisSettings | None = None  # evaluation.synthesis; None while its images are unset
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
            synthesis=SynthesisSettings.from_config(config),
            dimensions=dict(evaluation.get("dimensions") or {}),
            decodability=dict(evaluation.get("decodability") or {}),
            refined_bias=dict(evaluation.get("refined_bias") or {}),
        )


#: Texture synthesis and feature reconstruction through Top-K masks (Li et al. 2023): the tasks,
#: the masks, and the authors' steps and learning rate per task (:mod:`adain.evaluation.synthesis`).
TASKS = ("texture", "reconstruct")
MASKS = ("all", "topk", "nontopk")
TASK_DEFAULTS = {"texture": {"steps": 100, "lr": 1.0}, "reconstruct": {"steps": 1, "lr": 10.0}}
#: The photos a synthesis folder is searched for (case-insensitive).
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp")


@dataclass(frozen=True)
class SynthesisSettings:
    """What ``adain synthesize`` and the rule ``synthesize_topk`` run: the tasks and masks, the
    Top-K fraction ``k``, the image side ``size``, the optimiser (``steps`` and ``lr``: ``None`` for
    the task's :data:`TASK_DEFAULTS`; ``max_iter``), the starting noise's ``seed`` and the device."""

    tasks: tuple[str, ...]
    masks: tuple[str, ...]
    k: float
    size: int
    steps: int | None
    lr: float | None
    max_iter: int
    seed: int
    device: str

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS] + [m for m in self.masks if m not in MASKS]
        if unknown or not self.tasks or not self.masks:
            raise ValueError(f"synthesis: tasks among {TASKS} and masks among {MASKS} needed, got {unknown or 'none'}")
        if not 0 < self.k <= 1:
            raise ValueError(f"synthesis: the Top-K fraction k must be in (0, 1], got {self.k}")
        if self.size < 16:
            raise ValueError(f"synthesis: size must be at least 16 (pool4 halves it four times), got {self.size}")
        if (self.steps is not None and self.steps < 0) or self.max_iter < 1 or (self.lr is not None and self.lr <= 0):
            raise ValueError(
                f"synthesis: need steps >= 0, max_iter >= 1, lr > 0; got {self.steps}, {self.max_iter}, {self.lr}"
            )

    def steps_of(self, task: str) -> int:
        return TASK_DEFAULTS[task]["steps"] if self.steps is None else self.steps

    def lr_of(self, task: str) -> float:
        return TASK_DEFAULTS[task]["lr"] if self.lr is None else self.lr

    @classmethod
    def from_config(cls, config: dict) -> SynthesisSettings | None:
        """``evaluation.synthesis`` of a validated configuration (its defaults are the schema's);
        ``None`` while ``images`` is empty."""
        section = (config.get("evaluation") or {}).get("synthesis") or {}
        if not section.get("images"):
            return None
        return cls(
            tasks=tuple(section["tasks"]),
            masks=tuple(section["masks"]),
            k=float(section["k"]),
            size=int(section["size"]),
            steps=section["steps"],
            lr=section["lr"],
            max_iter=int(section["max_iter"]),
            seed=int(section["seed"]),
            device=config["device"],
        )
