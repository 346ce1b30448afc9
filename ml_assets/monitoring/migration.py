"""Segment migration between two runs: matrix, ranked flows, entrants to action segments, chart.

Inputs are two runs' assignments (customer_key, segment_id), usually the published segments of
consecutive runs from the membership history. Only customers present in both runs move; new and
departed customers are counted separately in the flows' context, not as moves.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ml_assets.monitoring.stability import match_labels

# Margin (ml_assets.assignment: (d2 - d1) / (d2 + d1)) below which a customer sits on the boundary
# of two segments: 0.05 means the two nearest centroids are within about 10% of the same distance.
BOUNDARY_MARGIN = 0.05

FLOW_COLUMNS = [
    "from_segment",
    "to_segment",
    "customers",
    "share_of_from",
    "value_moved",
    "rank_by_customers",
    "rank_by_value",
]


def _paired(previous: pd.DataFrame, current: pd.DataFrame, key: str, segment: str) -> pd.DataFrame:
    return (
        previous[[key, segment]]
        .merge(current[[key, segment]], on=key, suffixes=("_from", "_to"))
        .rename(columns={f"{segment}_from": "from_segment", f"{segment}_to": "to_segment"})
    )


def migration_matrix(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    key: str = "customer_key",
    segment: str = "segment_id",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts, row shares): rows = segment in the previous run, columns = segment now."""
    paired = _paired(previous, current, key, segment)
    segments = sorted(set(paired["from_segment"]) | set(paired["to_segment"]))
    counts = (
        pd.crosstab(paired["from_segment"], paired["to_segment"])
        .reindex(index=segments, columns=segments, fill_value=0)
        .rename_axis(index="from_segment", columns="to_segment")
    )
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    return counts, shares


def migration_flows(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    values: pd.DataFrame | None = None,
    value_column: str = "current_mrr",
    key: str = "customer_key",
    segment: str = "segment_id",
) -> pd.DataFrame:
    """Moves between different segments, with customer counts and value moved, ranked both ways.

    `values` holds one value per customer (key, value_column), e.g. MRR; without it value_moved
    is 0. Flows come sorted by customers moved (rank_by_value gives the other ordering).
    """
    paired = _paired(previous, current, key, segment)
    from_sizes = paired.groupby("from_segment").size()
    if values is not None and value_column in values:
        paired = paired.merge(values[[key, value_column]], on=key, how="left")
        paired["value"] = pd.to_numeric(paired[value_column], errors="coerce").fillna(0.0)
    else:
        paired["value"] = 0.0
    moved = paired[paired["from_segment"] != paired["to_segment"]]
    flows = (
        moved.groupby(["from_segment", "to_segment"])
        .agg(customers=(key, "size"), value_moved=("value", "sum"))
        .reset_index()
    )
    flows["share_of_from"] = flows["customers"] / flows["from_segment"].map(from_sizes)
    flows["rank_by_customers"] = flows["customers"].rank(ascending=False, method="min").astype(int)
    flows["rank_by_value"] = flows["value_moved"].rank(ascending=False, method="min").astype(int)
    return flows.sort_values(["rank_by_customers", "rank_by_value"], ignore_index=True)[
        FLOW_COLUMNS
    ]


def segments_marked_for_action(
    segment_names: pd.DataFrame,
    markers: Iterable[str],
    segment: str = "segment_id",
    name: str = "segment_name",
) -> set:
    """Segment ids whose id equals a marker or whose name contains one (case-insensitive)."""
    markers = [str(m).lower() for m in markers]
    marked = set()
    for row in segment_names[[segment, name]].drop_duplicates().itertuples(index=False):
        seg_id, seg_name = row
        if str(seg_id).lower() in markers or any(m in str(seg_name).lower() for m in markers):
            marked.add(seg_id)
    return marked


def action_entrants(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    action_segments: Iterable,
    key: str = "customer_key",
    segment: str = "segment_id",
    include_new: bool = False,
) -> pd.DataFrame:
    """Customers now in an action segment (e.g. at-risk) who were not in one last run.

    With include_new, customers absent from the previous run count too (from_segment is NA).
    """
    action = set(action_segments)
    how = "left" if include_new else "inner"
    joined = (
        current[[key, segment]]
        .merge(previous[[key, segment]], on=key, how=how, suffixes=("_to", "_from"))
        .rename(columns={f"{segment}_from": "from_segment", f"{segment}_to": "to_segment"})
    )
    entered = joined["to_segment"].isin(action) & ~joined["from_segment"].isin(action)
    return joined.loc[entered, [key, "from_segment", "to_segment"]].reset_index(drop=True)


def detect_movers(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    key: str = "customer_key",
    segment: str = "segment_id",
    align_labels: bool = True,
    boundary_margin: float = BOUNDARY_MARGIN,
) -> pd.DataFrame:
    """key, from_segment, to_segment, moved for customers in both runs.

    With align_labels the current run's labels are first matched to the previous run's (a refit
    may renumber segments), so a relabelled segment is not mistaken for a mass migration.

    When both runs carry a `margin` (customer_segments.margin), a change of segment by a customer
    whose margin is below `boundary_margin` in both runs is not a move: it sits on the boundary
    between the two segments and measurement noise tips it either way (boundary_margin=0 turns
    this off).
    """
    columns = [segment, "margin"] if _has_margins(previous, current) else [segment]
    paired = previous[[key, *columns]].merge(
        current[[key, *columns]], on=key, suffixes=("_from", "_to")
    )
    paired = paired.rename(
        columns={f"{segment}_from": "from_segment", f"{segment}_to": "to_segment"}
    )
    if align_labels and len(paired):
        mapping = match_labels(paired["from_segment"].to_numpy(), paired["to_segment"].to_numpy())
        paired["to_segment"] = paired["to_segment"].map(mapping)
    paired["moved"] = paired["from_segment"] != paired["to_segment"]
    if "margin" in columns and boundary_margin > 0:
        margins = paired[["margin_from", "margin_to"]].apply(pd.to_numeric, errors="coerce")
        on_boundary = (margins.fillna(1.0) < boundary_margin).all(axis=1)
        paired["moved"] &= ~on_boundary
    return paired


def _has_margins(*frames: pd.DataFrame) -> bool:
    return all("margin" in frame.columns for frame in frames)


def evaluate_detected_migrations(
    detected: pd.DataFrame, truth: pd.DataFrame, id_column: str = "company_id"
) -> dict:
    """Precision/recall of detected movers against planted ones.

    Both frames: id_column and a boolean `moved` (a detected frame without `moved` means every
    listed id was detected as a mover). Only ids present in the truth are scored.
    """
    detected = detected.copy()
    if "moved" not in detected:
        detected["moved"] = True
    detected_ids = set(detected.loc[detected["moved"].astype(bool), id_column]) & set(
        truth[id_column]
    )
    planted = set(truth.loc[truth["moved"].astype(bool), id_column])
    tp = len(detected_ids & planted)
    fp = len(detected_ids - planted)
    fn = len(planted - detected_ids)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def migration_heatmap_png(
    shares: pd.DataFrame,
    counts: pd.DataFrame | None = None,
    labels: dict | None = None,
    title: str = "Segment migration",
) -> bytes:
    """A heat map of row shares (annotated with counts when given) as PNG bytes."""
    # A bare Figure renders through Agg without pyplot's global state: headless and thread-safe.
    from matplotlib.figure import Figure

    names = [str((labels or {}).get(s, s)) for s in shares.index]
    to_names = [str((labels or {}).get(s, s)) for s in shares.columns]
    size = max(4.0, 0.7 * len(names) + 2)
    fig = Figure(figsize=(size + 1, size))
    ax = fig.subplots()
    image = ax.imshow(shares.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(to_names)), to_names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("segment now")
    ax.set_ylabel("segment in previous run")
    ax.set_title(title)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            share = shares.iat[i, j]
            text = f"{share:.0%}" if counts is None else f"{counts.iat[i, j]}\n{share:.0%}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share > 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, label="share of previous segment")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
