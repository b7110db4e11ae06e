"""Linear probes on frozen features: multinomial logistic regression (L2-penalised, fitted with
L-BFGS in float64 on standardised features) and cross-validated held-out accuracy with folds that
keep groups together (e.g. every image of one shape exemplar in one fold)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["fit_logistic", "probe_accuracy", "grouped_folds", "cross_validate"]


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, classes: int, l2: float = 1e-3, max_iter: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights ``(D, C)`` and biases ``(C,)`` minimising the mean cross-entropy plus
    ``l2 / 2 * ||W||^2`` on ``features`` ``(N, D)`` and integer ``labels`` ``(N,)`` in ``[0, classes)``.

    Deterministic: zeros to start, float64, full-batch L-BFGS with a strong-Wolfe line search, on
    one CPU thread (these small products run far slower when threads wait on each other).
    """
    if l2 < 0:
        raise ValueError(f"the L2 penalty must be >= 0, got {l2}")
    x = torch.as_tensor(features, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64)
    weights = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    biases = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weights, biases],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-7,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weights + biases, y) + 0.5 * l2 * weights.pow(2).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            optimizer.step(closure)
    finally:
        torch.set_num_threads(threads)
    return weights.detach(), biases.detach()


def probe_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    classes: int,
    l2: float = 1e-3,
) -> float:
    """Held-out accuracy of :func:`fit_logistic` fitted on the training rows, each feature
    standardised with the training rows' mean and standard deviation (constant features left at 0)."""
    mean = train_x.mean(axis=0, keepdims=True)
    std = train_x.std(axis=0, keepdims=True)
    std[std == 0] = 1.0
    weights, biases = fit_logistic((train_x - mean) / std, train_y, classes, l2)
    scores = torch.as_tensor((test_x - mean) / std, dtype=torch.float64) @ weights + biases
    return float((scores.argmax(dim=1).numpy() == test_y).mean())


def grouped_folds(groups: Sequence[str], labels: Sequence[int], folds: int, seed: int = 0) -> np.ndarray:
    """The fold (``0 .. folds-1``) of every sample: all samples of a group share one fold, and each
    class's groups (shuffled with ``seed``) are dealt round the folds in turn, continuing where the
    previous class stopped, so the folds hold about as many groups of each class.

    Raises:
        ValueError: fewer than 2 folds, or fewer groups than folds.
    """
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    group_label: dict[str, int] = {}
    for group, label in zip(groups, labels):
        group_label.setdefault(group, int(label))
    if len(group_label) < folds:
        raise ValueError(f"{len(group_label)} groups cannot fill {folds} folds")
    rng = np.random.default_rng(seed)
    assigned: dict[str, int] = {}
    turn = 0
    for label in sorted(set(group_label.values())):
        members = sorted(g for g, c in group_label.items() if c == label)
        for index in rng.permutation(len(members)).tolist():
            assigned[members[index]] = turn % folds
            turn += 1
    return np.array([assigned[g] for g in groups], dtype=np.int64)


def cross_validate(
    features: np.ndarray, labels: np.ndarray, fold_of: np.ndarray, classes: int, l2: float = 1e-3
) -> list[float]:
    """Held-out accuracy of each fold (:func:`probe_accuracy`, trained on the other folds)."""
    accuracies = []
    for fold in sorted(set(fold_of.tolist())):
        test = fold_of == fold
        accuracies.append(probe_accuracy(features[~test], labels[~test], features[test], labels[test], classes, l2))
    return accuracies
