"""Stable segment identity across retrains.

Cluster labels are arbitrary numbers that change on every fit; users know segments by id and
name. Each run's clusters are matched one-to-one to the previous model's segments with the
Hungarian algorithm on membership overlap (Jaccard over the customers present in both runs) or,
when the runs share too few customers, on centroid distance over the features both runs use.
Matched clusters inherit the id (and name); the rest get new ids; previous segments nobody matched
are reported as dissolved. Ids are never reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

ID_PATTERN = re.compile(r"^seg_(\d+)$")


@dataclass
class PreviousSegments:
    """What matching needs from the previous model."""

    membership: pd.Series  # customer_key -> segment_id
    centroids: pd.DataFrame  # index segment_id, columns feature names
    names: dict[str, str] = field(default_factory=dict)  # segment_id -> name
    known_ids: list[str] = field(default_factory=list)  # every id ever issued, dissolved included


@dataclass
class MatchResult:
    segment_ids: list[str]  # segment id per current cluster label
    status: dict[str, str]  # segment_id -> matched | new | dissolved
    overlap: dict[str, float]  # segment_id -> Jaccard (or -distance) of the match
    method: str  # membership | centroid | none
    names: dict[str, str]  # inherited names of matched segments
    known_ids: list[str]


def format_id(number: int) -> str:
    return f"seg_{number:02d}"


def _next_number(ids: list[str]) -> int:
    numbers = [int(m.group(1)) for m in (ID_PATTERN.match(i) for i in ids) if m]
    return max(numbers, default=0) + 1


def membership_jaccard(
    customer_keys: np.ndarray, labels: np.ndarray, k: int, previous: pd.Series
) -> tuple[np.ndarray, list[str], int]:
    """Jaccard of each current cluster with each previous segment, over shared customers."""
    current = pd.Series(labels, index=pd.Index(customer_keys))
    shared = current.index.intersection(previous.index)
    old_ids = sorted(previous.unique())
    if len(shared) == 0:
        return np.zeros((k, len(old_ids))), old_ids, 0
    cur = current.loc[shared].to_numpy()
    old = pd.Categorical(previous.loc[shared].to_numpy(), categories=old_ids).codes
    both = np.zeros((k, len(old_ids)))
    np.add.at(both, (cur, old), 1)
    cur_sizes = both.sum(axis=1, keepdims=True)
    old_sizes = both.sum(axis=0, keepdims=True)
    union = cur_sizes + old_sizes - both
    return np.divide(both, union, out=np.zeros_like(both), where=union > 0), old_ids, len(shared)


def centroid_distance(
    centroids: np.ndarray, feature_names: list[str], previous: pd.DataFrame
) -> tuple[np.ndarray, list[str]]:
    """Root-mean-square distance per feature between centroids, over the features both runs use."""
    common = [f for f in feature_names if f in previous.columns]
    if not common:
        return np.full((len(centroids), len(previous)), np.inf), list(previous.index)
    idx = [feature_names.index(f) for f in common]
    cur = centroids[:, idx]
    old = previous[common].to_numpy(dtype=float)
    dist = np.sqrt(((cur[:, None, :] - old[None, :, :]) ** 2).mean(axis=2))
    return dist, list(previous.index)


def match_segments(
    customer_keys: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    feature_names: list[str],
    previous: PreviousSegments | None,
    min_jaccard: float = 0.2,
    min_shared_share: float = 0.2,
    max_centroid_distance: float = 0.5,
) -> MatchResult:
    """Give every current cluster a stable segment id.

    Membership overlap is used when at least `min_shared_share` of this run's customers were in
    the previous run; pairs below `min_jaccard` (or farther than `max_centroid_distance` robust
    units) are not the same segment.
    """
    k = len(centroids)
    if previous is None or (previous.membership.empty and previous.centroids.empty):
        ids = [format_id(i + 1) for i in range(k)]
        return MatchResult(ids, {i: "new" for i in ids}, {}, "none", {}, ids)

    jaccard, old_ids, shared = membership_jaccard(customer_keys, labels, k, previous.membership)
    if shared >= min_shared_share * len(customer_keys) and len(old_ids):
        method, score, accept = "membership", jaccard, jaccard >= min_jaccard
    else:
        dist, old_ids = centroid_distance(centroids, feature_names, previous.centroids)
        method, score, accept = "centroid", -dist, dist <= max_centroid_distance
    rows, cols = linear_sum_assignment(-score) if len(old_ids) else ([], [])

    known = list(dict.fromkeys([*previous.known_ids, *old_ids]))
    next_number = _next_number(known)
    ids: list[str | None] = [None] * k
    status: dict[str, str] = {}
    overlap: dict[str, float] = {}
    for r, c in zip(rows, cols, strict=True):
        if accept[r, c]:
            ids[r] = old_ids[c]
            status[old_ids[c]] = "matched"
            overlap[old_ids[c]] = round(float(score[r, c]), 4)
    for label in range(k):
        if ids[label] is None:
            ids[label] = format_id(next_number)
            next_number += 1
            status[ids[label]] = "new"
            known.append(ids[label])
    for old in old_ids:
        status.setdefault(old, "dissolved")
    names = {i: previous.names[i] for i in ids if status[i] == "matched" and i in previous.names}
    return MatchResult(list(ids), status, overlap, method, names, known)
