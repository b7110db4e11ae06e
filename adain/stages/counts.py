"""A run's counts in one vocabulary: images stylized, content rejects and painting rejects; and
the one warning every output made with random stand-in weights carries.

Every place that reports a run says its counts with :meth:`RunCounts.phrase`, so the run's last
lines, ``adain status``, ``adain inspect``, ``adain verify``, ``summary.json`` and the dataset card
read the same words and numbers:

* **images** (stylized, or packed or filtered for the other methods): the samples stored in the
  shards, what the readers, ``adain verify`` and ``adain inspect`` count;
* **content rejects**: content samples that could not be used (unreadable, empty, too small or
  too large; with K styles per image a rejected file counts K samples), listed in the shards and,
  for names the index could not use, in ``index/rejected.tsv``;
* **painting rejects**: paintings that could not be used (``paintings/rejected_*.tsv``); they
  reject no image: the draws choose among the usable paintings. ``None`` for methods without
  paintings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RunCounts", "plural", "method_verb", "reason_kind", "RANDOM_STANDIN_WARNING", "STANDIN_HINT"]

#: Said by every output made with :func:`adain.core.weights.write_random_weights`'s weights.
RANDOM_STANDIN_WARNING = "random stand-in weights — not a real dataset"
#: Where they came from and how to get the real ones.
STANDIN_HINT = "made with `adain weights random`; `adain weights download` fetches the release weights"

#: What each method does to an image, as the counts say it.
_VERBS = {"adain": "stylized", "none": "packed"}


def method_verb(method: str | None) -> str:
    """``stylized`` for AdaIN, ``packed`` for ``none``, ``filtered`` for the texture-suppression filters."""
    return _VERBS.get(method or "adain", "filtered")


def plural(count: int, noun: str) -> str:
    """``1 image``, ``2 images``, ``0 images``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def reason_kind(reason: str) -> str:
    """A reject's reason without its details: ``too small: 180x140`` -> ``too small``."""
    return reason.split(":")[0].strip()


@dataclass(frozen=True)
class RunCounts:
    """The three counts of a run (see the module docstring)."""

    images: int
    content_rejects: int
    painting_rejects: int | None = None  # None: the method draws no paintings
    method: str = "adain"

    def phrase(self) -> str:
        """``18 images stylized, 1 content reject, 1 painting reject`` (no painting rejects for
        methods without paintings)."""
        parts = [
            f"{plural(self.images, 'image')} {method_verb(self.method)}",
            plural(self.content_rejects, "content reject"),
        ]
        if self.painting_rejects is not None:
            parts.append(plural(self.painting_rejects, "painting reject"))
        return ", ".join(parts)

    def as_dict(self) -> dict:
        """What ``summary.json`` records under ``counts``."""
        return {
            "images": self.images,
            "content_rejects": self.content_rejects,
            "painting_rejects": self.painting_rejects,
        }

    @classmethod
    def from_summary(cls, summary: Mapping) -> RunCounts:
        """The counts of a ``summary.json`` (also one written before ``counts`` was recorded)."""
        method = summary.get("method") or ("adain" if summary.get("style_dir") else "none")
        counts = summary.get("counts")
        if counts:
            return cls(counts["images"], counts["content_rejects"], counts.get("painting_rejects"), method)
        splits = summary.get("splits", {}).values()
        paintings = summary.get("paintings_rejected", 0) if method == "adain" else None
        return cls(sum(s["packed"] for s in splits), sum(s["rejected"] for s in splits), paintings, method)
