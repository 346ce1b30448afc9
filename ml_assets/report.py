"""The segment report as one self-contained HTML page: sizes, names and playbooks, defining traits,
outcome differences, stability and migration, charts inlined as base64 PNG (pure rendering)."""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC, datetime

import pandas as pd

from ml_assets import plots
from ml_assets.flags import as_flags
from ml_assets.hierarchy import UNSEGMENTED

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2rem; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
table { margin: .8rem 0 1.6rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; margin: .5rem 0 1.5rem; } .empty { color: #888; font-style: italic; }
"""


def _png_tag(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def html_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A plain HTML table; every cell is escaped."""
    if frame.empty:
        return '<p class="empty">No rows.</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                text = "" if pd.isna(value) else f"{value:,.{digits}f}"
                cells.append(f'<td class="num">{text}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _traits_text(raw: str | None) -> str:
    """Defining traits as words: 'current_mrr high, usage_trend_30d low'."""
    return ", ".join(f"{t['attribute']} {t['direction']}" for t in (json.loads(raw) if raw else []))


def _entries_section(profiles: pd.DataFrame, entries: pd.Series) -> str:
    """Who entered which segment in this run, and the CSM tasks those entries raise."""
    frame = profiles.set_index(profiles["segment_id"].astype(str))
    table = pd.DataFrame({"customers_entered": entries.astype(int)})
    table.insert(0, "segment_name", frame["segment_name"].reindex(table.index))
    task = (
        as_flags(frame["create_csm_task"].reindex(table.index))
        if "create_csm_task" in frame
        else pd.Series(False, index=table.index)
    )
    table["csm_task_on_entry"] = task.map({True: "yes", False: "no"})
    tasks = int(table.loc[task, "customers_entered"].sum())
    return (
        f"<h2>Entries and actions</h2><p>{int(entries.sum()):,} customers entered a segment in "
        f"this run; entries into segments whose playbook asks for one raise {tasks:,} CSM "
        "tasks (one per entry: staying, re-running or retraining raises none).</p>"
        + html_table(table.reset_index(names="segment_id"))
    )


def render_report(
    profiles: pd.DataFrame,
    lift_png: bytes | None = None,
    migration: pd.DataFrame | None = None,
    performance: pd.DataFrame | None = None,
    generated_at: datetime | None = None,
    entries: pd.Series | None = None,
) -> str:
    """The report's HTML from the run's tables (pure: no warehouse access). `entries`: customers
    per segment id who entered it in this run (None or empty on a first run)."""
    generated_at = generated_at or datetime.now(UTC)
    sections = []
    if profiles.empty:
        sections.append(
            '<p class="empty">No segments in this run (see the segment_model asset).</p>'
        )
    else:
        labels = dict(zip(profiles["segment_id"], profiles["segment_name"], strict=True))
        sizes = profiles.set_index("segment_name")["size"]
        overview = profiles.assign(defining_traits=profiles["top_traits"].map(_traits_text))
        columns = [
            c
            for c in [
                "segment_id",
                "segment_name",
                "parent_segment_name",
                "status",
                "size",
                "share",
                "defining_traits",
                "playbook_action",
            ]
            if c in overview
        ]
        sections.append("<h2>Segments, names and playbooks</h2>" + html_table(overview[columns]))
        noise = profiles[profiles["segment_id"] == UNSEGMENTED]
        if len(noise):
            share = float(noise["share"].iloc[0]) if "share" in noise else float("nan")
            sections.append(
                f'<p class="unsegmented">Unsegmented: {int(noise["size"].iloc[0]):,} customers '
                f"({share:.1%}) fit no segment of the density model; they get no playbook, "
                "no audience and no task, and the CRM shows them as unsegmented.</p>"
            )
        sections.append(_png_tag(plots.segment_size_chart(sizes), "segment sizes"))
        if lift_png:
            sections.append(
                "<h2>Profiles</h2><p>Standardised difference of each attribute from the "
                "population (red: higher, blue: lower).</p>"
                + _png_tag(lift_png, "profile heat map")
            )
        outcome_columns = [
            c
            for c in [
                "segment_name",
                "avg_revenue_after",
                "churn_rate",
                "expansion_rate",
                "support_burden",
            ]
            if c in profiles
        ]
        sections.append(
            "<h2>Outcome differences</h2><p>Outcomes measured after the reference date "
            "(no leakage into the features).</p>" + html_table(profiles[outcome_columns])
        )
        if {"avg_revenue_after", "churn_rate"} <= set(profiles.columns):
            outcomes = profiles.set_index("segment_name")[["avg_revenue_after", "churn_rate"]]
            sections.append(_png_tag(plots.outcome_chart(outcomes), "outcomes by segment"))
        if performance is not None and not performance.empty:
            sections.append(
                "<h3>Segment performance (dbt reporting mart)</h3>" + html_table(performance)
            )
        if migration is not None and not migration.empty:
            counts = migration.pivot_table(
                index="from_segment",
                columns="to_segment",
                values="customers",
                aggfunc="sum",
                fill_value=0,
            )
            shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
            from ml_assets.monitoring.migration import migration_heatmap_png

            moved = int(
                migration.loc[
                    migration["from_segment"] != migration["to_segment"], "customers"
                ].sum()
            )
            total = int(migration["customers"].sum())
            sections.append(
                f"<h2>Stability and migration</h2><p>{moved:,} of {total:,} customers "
                f"({moved / max(total, 1):.1%}) changed segment since the previous run.</p>"
                + _png_tag(
                    migration_heatmap_png(shares, counts, labels=labels), "segment migration"
                )
            )
        else:
            sections.append(
                '<h2>Stability and migration</h2><p class="empty">First run: nothing to '
                "compare with yet.</p>"
            )
        if entries is not None and len(entries):
            sections.append(_entries_section(profiles, entries))
    customers = int(profiles["size"].sum()) if len(profiles) else 0
    model_version = (
        profiles["model_version"].iloc[0]
        if "model_version" in profiles and len(profiles)
        else "n/a"
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Segment report</title>'
        f"<style>{STYLE}</style></head><body><h1>Segment report</h1>"
        f'<p class="sub">Model {html.escape(str(model_version))} · generated '
        f"{generated_at:%Y-%m-%d %H:%M} UTC · {customers:,} customers</p>"
        + "".join(sections)
        + "</body></html>"
    )
