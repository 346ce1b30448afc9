"""Planted file defects: malformed rows (listed in the truth), duplicate deliveries and
duplicate keys, applied to each finished table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.io.contract import RawTable

MALFORMED_RATE = 0.005
DUPLICATE_DELIVERY_RATE = {"product_events": 0.015, "email_events": 0.005}

KIND_CODES = (
    "",
    "missing_key",
    "bad_number",
    "bad_timestamp",
    "future_timestamp",
    "negative_amount",
    "duplicate_key",
)
# Column changed in the second row of a planted duplicate_key pair.
DUP_KEY_COLUMN = {
    "crm_accounts": "account_name",
    "crm_account_attributes": "updated_at",
    "crm_contacts": "job_title",
    "billing_customers": "company_name",
    "billing_subscriptions": "plan",
    "billing_invoices": "amount",
    "product_users": "created_at",
    "product_events": "event_name",
    "support_tickets": "priority",
    "email_events": "event_type",
    "survey_responses": "score",
    "consent_events": "granted",
}


def _applicable_kinds(spec: RawTable) -> list[int]:
    types = {c.type for c in spec.columns}
    kinds = [1] if spec.required_columns else []
    if types & {"double", "bigint"}:
        kinds.append(2)
    if "timestamp" in types:
        kinds += [3, 4]
    if any(c.non_negative for c in spec.columns):
        kinds.append(5)
    kinds.append(6)
    return kinds


def _plant_defects(
    spec: RawTable, cols: dict[str, pa.Array], order: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Add malformed rows and duplicate deliveries; return the table, kinds and companies."""
    n = len(order)
    company = cols["_company"]
    data = {c: cols[c] for c in spec.column_names}
    kinds_available = _applicable_kinds(spec)
    n_bad = int(rng.binomial(n, MALFORMED_RATE)) if n else 0
    bad_rows = rng.choice(n, size=n_bad, replace=False) if n_bad else np.array([], np.int64)
    bad_kind = np.array(kinds_available)[rng.permutation(len(kinds_available))]
    bad_kind = np.resize(bad_kind, n_bad) if n_bad else np.array([], np.int64)
    kinds = np.zeros(n, np.int8)
    replacements: dict[str, dict[int, str]] = {c: {} for c in spec.column_names}
    ts_cols = [c.name for c in spec.columns if c.type == "timestamp"]
    ts_required = [c.name for c in spec.columns if c.type == "timestamp" and c.required] or ts_cols
    num_cols = [c.name for c in spec.columns if c.type in ("double", "bigint")]
    nonneg = [c.name for c in spec.columns if c.non_negative]
    for row, kind in zip(bad_rows.tolist(), bad_kind.tolist(), strict=True):
        if kind == 6:
            continue
        kinds[row] = kind
        if kind == 1:
            col = spec.required_columns[rng.integers(len(spec.required_columns))]
            replacements[col][row] = None
        elif kind == 2:
            col = num_cols[rng.integers(len(num_cols))]
            replacements[col][row] = ("12,5x", "n/a", "1.2.3", "abc", "3O0")[rng.integers(5)]
        elif kind == 3:
            col = ts_required[rng.integers(len(ts_required))]
            replacements[col][row] = (
                "not-a-date",
                "2025-13-45T25:61:00Z",
                "31/02/2025 10:00",
                "yesterday",
            )[rng.integers(4)]
        elif kind == 4:
            col = ts_required[rng.integers(len(ts_required))]
            replacements[col][row] = (
                f"2099-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
                f"T{rng.integers(0, 24):02d}:00:00Z"
            )
        elif kind == 5:
            col = nonneg[rng.integers(len(nonneg))]
            value = data[col][row].as_py()
            replacements[col][row] = f"-{value}" if value else f"-{rng.integers(1, 50)}"
    for col, rows in replacements.items():
        if rows:
            mask = np.zeros(n, bool)
            mask[list(rows)] = True
            values = [rows[r] for r in sorted(rows)]
            data[col] = pc.replace_with_mask(
                data[col], pa.array(mask), pa.array(values, pa.string())
            )

    # Duplicate deliveries: identical rows again, a little later in the file (not malformed).
    clean = np.flatnonzero(kinds == 0)
    dup_rate = DUPLICATE_DELIVERY_RATE.get(spec.name, 0.0)
    dup_rows = clean[rng.random(len(clean)) < dup_rate] if dup_rate else np.array([], np.int64)
    # duplicate_key: a second row with the same key but different content.
    key_src = bad_rows[bad_kind == 6]
    key_src = key_src[kinds[key_src] == 0]
    dup_rows = np.setdiff1d(dup_rows, key_src)
    dkcol = DUP_KEY_COLUMN[spec.name]
    key_copy = {c: data[c].take(pa.array(key_src, pa.int64())) for c in spec.column_names}
    changed = key_copy[dkcol]
    for _ in range(30):
        other = data[dkcol].take(pa.array(rng.integers(0, n, len(key_src)), pa.int64()))
        same = pc.fill_null(pc.equal(changed, key_copy[dkcol]), True)
        changed = pc.if_else(same, other, changed)
    still = pc.fill_null(pc.equal(changed, key_copy[dkcol]), True).to_numpy(zero_copy_only=False)
    if still.any():
        changed = pc.if_else(pa.array(still), pa.scalar("x", pa.string()), changed)
    key_copy[dkcol] = changed

    parts = {
        c: [data[c], data[c].take(pa.array(dup_rows, pa.int64())), key_copy[c]]
        for c in spec.column_names
    }
    later = rng.integers(1, 600, len(dup_rows)) if np.issubdtype(order.dtype, np.integer) else 0
    all_order = np.concatenate([order, order[dup_rows] + later, order[key_src]])
    all_kinds = np.concatenate(
        [kinds, np.zeros(len(dup_rows), np.int8), np.full(len(key_src), 6, np.int8)]
    )
    all_company = np.concatenate([company, company[dup_rows], company[key_src]])
    perm = np.argsort(all_order, kind="stable")
    table = pa.table(
        {c: pa.concat_arrays(parts[c]).take(pa.array(perm)) for c in spec.column_names}
    )
    return table, all_kinds[perm], all_company[perm]
