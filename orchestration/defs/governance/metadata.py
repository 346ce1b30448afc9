"""Markdown previews of frames for Dagster metadata (governance and audience reports)."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue


def markdown_preview(frame: pd.DataFrame, limit: int = 50) -> MetadataValue:
    """The first `limit` rows as a markdown table, saying how many more there are."""
    if frame.empty:
        return MetadataValue.md("_none_")
    suffix = f"\n\n_{len(frame) - limit} more rows not shown_" if len(frame) > limit else ""
    return MetadataValue.md(frame.head(limit).to_markdown(index=False) + suffix)
