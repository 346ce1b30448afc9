"""Charts for materialization metadata: segment sizes, profile heat map, 2-D projection.

Every function returns PNG bytes (matplotlib's Agg backend, no display needed);
`markdown_image` turns them into markdown with a data URI that the Dagster UI renders.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def segment_size_chart(sizes: pd.Series) -> bytes:
    """Horizontal bars: customers per segment (index: segment label, values: counts)."""
    sizes = sizes.sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(sizes) + 1.2))
    ax.barh([str(i) for i in sizes.index], sizes.to_numpy(), color="#4C72B0")
    total = sizes.sum()
    for y, value in enumerate(sizes.to_numpy()):
        ax.text(value, y, f" {value:,} ({value / total:.0%})", va="center", fontsize=8)
    ax.set_xlabel("customers")
    ax.set_title("Segment sizes")
    ax.margins(x=0.2)
    return _png(fig)


def outcome_chart(outcomes: pd.DataFrame) -> bytes:
    """Side-by-side bars per segment: revenue after the reference date and churn rate.

    `outcomes` is indexed by segment label with `avg_revenue_after` and `churn_rate` columns.
    """
    fig, (revenue, churn) = plt.subplots(
        1, 2, figsize=(10, 0.45 * len(outcomes) + 1.5), sharey=True
    )
    labels = [str(i) for i in outcomes.index]
    revenue.barh(labels, outcomes["avg_revenue_after"].fillna(0).to_numpy(), color="#55A868")
    revenue.set_xlabel("average revenue after the reference date")
    churn.barh(labels, outcomes["churn_rate"].fillna(0).to_numpy(), color="#C44E52")
    churn.set_xlabel("churn rate")
    churn.set_xlim(0, 1)
    fig.suptitle("Outcomes by segment")
    return _png(fig)


def lift_heatmap(
    stats: pd.DataFrame, labels: dict[str, str] | None = None, max_attributes: int = 20
) -> bytes:
    """Segments x attributes coloured by standardised difference from the population.

    `stats` is the long frame from `profiling.attribute_stats`; the attributes that vary most
    across segments are shown.
    """
    grid = stats.pivot(index="segment_id", columns="attribute_name", values="std_diff").fillna(0.0)
    keep = grid.abs().max().sort_values(ascending=False).index[:max_attributes]
    grid = grid[keep]
    fig, ax = plt.subplots(figsize=(0.45 * len(keep) + 3, 0.5 * len(grid) + 2))
    image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    ax.set_xticks(range(len(keep)), [str(c) for c in keep], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(grid)), [(labels or {}).get(s, s) for s in grid.index], fontsize=8)
    fig.colorbar(image, ax=ax, label="standardised difference vs population")
    ax.set_title("Segment profiles")
    return _png(fig)


def pca_projection(
    X: np.ndarray, labels: np.ndarray, names: list[str], max_points: int = 5_000, seed: int = 0
) -> bytes:
    """Customers on the first two principal components, coloured by segment (a sample)."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(len(X), max_points), replace=False) if len(X) else []
    points = (
        PCA(n_components=2, random_state=seed).fit_transform(X[rows]) if X.shape[1] >= 2 else None
    )
    fig, ax = plt.subplots(figsize=(6, 5))
    if points is not None:
        for label, name in enumerate(names):
            mask = labels[rows] == label
            ax.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.5, label=name)
        ax.legend(fontsize=7, markerscale=3, loc="best")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("2-D projection (PCA)")
    return _png(fig)


def sizes_over_time_chart(sizes: pd.DataFrame) -> bytes:
    """Customers per segment per run (rows: run date, columns: segment), as lines."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for segment in sizes.columns:
        ax.plot(range(len(sizes)), sizes[segment].to_numpy(), marker="o", label=str(segment))
    ax.set_xticks(range(len(sizes)), [str(d) for d in sizes.index], rotation=30, ha="right")
    ax.set_ylabel("customers")
    ax.set_title("Segment sizes over time")
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown with the PNG inlined as a base64 data URI (renders in the Dagster UI)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def markdown_table(frame: pd.DataFrame, float_digits: int = 3) -> str:
    """A plain markdown table (no tabulate dependency) for MetadataValue.md."""
    if frame.empty:
        return "_(empty)_"

    def cell(value) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.{float_digits}f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
