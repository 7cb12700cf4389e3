"""Statistics for evaluations: bootstrap confidence intervals clustered by prompt for per-image
metrics (the images of one prompt are correlated, so resampling them independently makes intervals
too narrow); delete-a-group jackknife intervals for set metrics (FID, KID, CMMD), which resampling
with replacement biases (a duplicated image shrinks the set's spread, so the bootstrap interval
can miss the estimate); McNemar's exact test between two methods' decisions on the same rows, and
Cohen's kappa between two judges."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BOOTSTRAP = 1000
LEVEL = 0.95


def cluster_index(clusters: Sequence[str]) -> list[np.ndarray]:
    """Row indices of each cluster, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(clusters):
        groups.setdefault(c, []).append(i)
    return [np.asarray(g) for g in groups.values()]


def cluster_bootstrap(statistic: Callable[[np.ndarray], float], clusters: Sequence[str], resamples: int = BOOTSTRAP,
                      seed: int = 0, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of `statistic(row indices)` over resampled clusters (with replacement)."""
    groups = cluster_index(clusters)
    if len(groups) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        picked = rng.integers(0, len(groups), len(groups))
        value = statistic(np.concatenate([groups[g] for g in picked]))
        if np.isfinite(value):
            values.append(value)
    if not values:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def jackknife_interval(statistic: Callable[[np.ndarray], float], estimate: float, clusters: Sequence[str],
                       groups: int = 20, seed: int = 0, level: float = LEVEL) -> tuple[float, float, str | None]:
    """Delete-a-group jackknife over clusters, no resampling with replacement: the clusters are
    split at random (fixed seed) into G groups, `statistic` is recomputed without each group, and
    the interval is estimate +- z * SE with SE^2 = (G-1)/G * sum (t_g - mean t)^2, so it always
    holds the estimate. Returns (low, high, None) or (nan, nan, why there is no interval)."""
    from scipy.stats import norm

    index = cluster_index(clusters)
    if len(index) < 3:
        return float("nan"), float("nan"), "fewer than 3 prompts: no interval"
    count = min(groups, len(index))
    order = np.random.default_rng(seed).permutation(len(index))
    values = []
    for g in range(count):
        left_out = set(order[g::count].tolist())
        values.append(statistic(np.concatenate([idx for c, idx in enumerate(index) if c not in left_out])))
    values = np.asarray(values, np.float64)
    if not np.isfinite(values).all() or not np.isfinite(estimate):
        return float("nan"), float("nan"), "a leave-a-group-out value is not finite: no interval"
    se = float(np.sqrt((count - 1) / count * ((values - values.mean()) ** 2).sum()))
    z = float(norm.ppf(1 - (1 - level) / 2))
    return estimate - z * se, estimate + z * se, None


def mean_with_ci(values: np.ndarray, clusters: Sequence[str], resamples: int = BOOTSTRAP,
                 seed: int = 0) -> tuple[float, float, float]:
    """(mean, 95 % low, 95 % high) of per-unit values, the interval bootstrapped over clusters."""
    values = np.asarray(values, np.float64)
    low, high = cluster_bootstrap(lambda idx: float(values[idx].mean()), clusters, resamples, seed)
    return float(values.mean()), low, high


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict[str, float]:
    """Exact McNemar test on paired binary decisions: a binomial test on the discordant pairs."""
    from scipy.stats import binomtest

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return {"only_first": only_a, "only_second": only_b, "p_value": p, "n": len(a)}


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two judges' decisions (1 for identical constant decisions, 0 for differing ones)."""
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(a, int), np.asarray(b, int)
    if len(set(a) | set(b)) < 2:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(cohen_kappa_score(a, b))
