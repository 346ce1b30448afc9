"""The parent level: 2-3 macro segments over the published segments, for layered strategies.

The published segments' centroids are merged bottom-up with Ward's criterion weighted by segment
size: merging a and b costs n_a n_b / (n_a + n_b) * |c_a - c_b|^2, the rise in within-cluster
sum of squares, exactly as Ward on the customers themselves would see two compact groups. The
number of parents is configured (2 or 3) or, with 0, taken where the tree has its largest gap:
of 2 and 3 parents, the one whose next merge is the costliest relative to the merge before it.

A parent's id follows its first child's number (seg_03 and seg_05 -> grp_03), so it is as stable
across retrains as the segment ids; it is named like a segment (naming.generate_names) from the
traits of its customers.
"""

from __future__ import annotations

import numpy as np

PARENT_CHOICES = (2, 3)
UNSEGMENTED = "unsegmented"


def ward_merges(centroids: np.ndarray, sizes: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    """Size-weighted Ward from k groups down to 1: the grouping at each level and merge costs.

    `groupings[i]` labels the k segments with k - i groups; `costs[i]` is the cost of the merge
    from k - i to k - i - 1 groups.
    """
    members = [[i] for i in range(len(centroids))]
    centres = [np.asarray(c, dtype=float) for c in centroids]
    weights = [float(s) for s in sizes]
    groupings, costs = [], []
    while True:
        grouping = np.empty(len(centroids), dtype=int)
        for group, ids in enumerate(members):
            grouping[ids] = group
        groupings.append(grouping)
        if len(members) == 1:
            return groupings, costs
        best, pair = np.inf, (0, 1)
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                na, nb = weights[a], weights[b]
                cost = na * nb / max(na + nb, 1e-12) * float(((centres[a] - centres[b]) ** 2).sum())
                if cost < best:
                    best, pair = cost, (a, b)
        a, b = pair
        total = weights[a] + weights[b]
        centres[a] = (weights[a] * centres[a] + weights[b] * centres[b]) / max(total, 1e-12)
        weights[a], members[a] = total, members[a] + members[b]
        del centres[b], weights[b], members[b]
        costs.append(best)


def parent_count(costs: list[float], k: int, configured: int = 0) -> int:
    """How many parents: the configured number, or of 2 and 3 the one before the largest gap."""
    if configured:
        return min(configured, k)
    options = [m for m in PARENT_CHOICES if m < k]
    if not options:
        return k

    def gap(m: int) -> float:  # cost of leaving m groups over the cost of reaching them
        leave, reach = costs[k - m], costs[k - m - 1]
        return leave / max(reach, 1e-12)

    return max(options, key=gap)


def parent_level(
    segment_ids: list[str], centroids: np.ndarray, sizes: np.ndarray, configured: int = 0
) -> dict[str, str]:
    """segment_id -> parent id (grp_NN after the parent's first child), by size-weighted Ward."""
    groupings, costs = ward_merges(centroids, sizes)
    m = parent_count(costs, len(segment_ids), configured)
    grouping = groupings[len(segment_ids) - m]
    parents = {}
    for group in np.unique(grouping):
        children = sorted(s for s, g in zip(segment_ids, grouping, strict=True) if g == group)
        for child in children:
            parents[child] = "grp_" + children[0].rsplit("_", 1)[-1]
    return parents
