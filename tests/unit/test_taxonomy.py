"""The event taxonomy's pure rules: additions parsing and the suggested canonical event."""

from __future__ import annotations

import pandas as pd
import pytest

from ml_assets.taxonomy import (
    TaxonomyError,
    parse_taxonomy_additions,
    suggest_canonical_event,
    unmapped_with_suggestions,
)
from orchestration.io.config_files import load_taxonomy_additions

TAXONOMY = pd.DataFrame(
    {
        "raw_event_name_normalised": [
            "view_dashboard", "dashboard viewed", "login", "user logged in",
        ],
        "canonical_event": ["dashboard_viewed", "dashboard_viewed", "logged_in", "logged_in"],
    }
)  # fmt: skip
KNOWN = dict(zip(TAXONOMY.raw_event_name_normalised, TAXONOMY.canonical_event, strict=True))


def test_suggestion_ignores_separators_case_and_word_order():
    for name in ("Dashboard View", "dashboard-viewed", "viewed dashboard", "LOGGED IN USER"):
        assert suggest_canonical_event(name, KNOWN) is not None, name
    assert suggest_canonical_event("Dashboard View", KNOWN).canonical_event == "dashboard_viewed"
    assert suggest_canonical_event("LOGGED IN USER", KNOWN).canonical_event == "logged_in"
    assert suggest_canonical_event("invoice paid", KNOWN) is None


def test_unmapped_listing_has_counts_most_frequent_first_and_suggestions():
    unmapped = pd.DataFrame(
        {
            "raw_event_name_normalised": ["invoice paid", "user loged in", "dashbord viewed"],
            "example_event_name": ["Invoice Paid", "User Loged In", "Dashbord Viewed"],
            "event_count": [3, 40, 12],
            "user_count": [1, 9, 4],
        }
    )
    listed = unmapped_with_suggestions(unmapped, TAXONOMY)
    assert listed.raw_event_name_normalised.tolist() == [
        "user loged in", "dashbord viewed", "invoice paid",
    ]  # fmt: skip
    assert listed.event_count.tolist() == [40, 12, 3]
    assert listed.suggested_canonical_event.tolist() == ["logged_in", "dashboard_viewed", None]
    assert listed.matched_name.tolist()[:2] == ["user logged in", "dashboard viewed"]
    assert (listed.similarity.dropna() >= 0.6).all()


def test_additions_file_rows_are_validated(tmp_path):
    path = tmp_path / "event_taxonomy_additions.csv"
    path.write_text(
        "raw_event_name_normalised,canonical_event,event_category,tracking_version\n"
        " Report Opened ,report_viewed,consumption,2025-web\n"
    )
    assert load_taxonomy_additions(path) == [
        {"raw_event_name_normalised": "Report Opened", "canonical_event": "report_viewed",
         "event_category": "consumption", "tracking_version": "2025-web"},
    ]  # fmt: skip
    assert load_taxonomy_additions(tmp_path / "missing.csv") == []
    with pytest.raises(TaxonomyError, match="line 3: empty tracking_version"):
        parse_taxonomy_additions(
            [
                {"raw_event_name_normalised": "a", "canonical_event": "b",
                 "event_category": "access", "tracking_version": "v3"},
                {"raw_event_name_normalised": "c", "canonical_event": "d",
                 "event_category": "access", "tracking_version": " "},
            ],
            "additions.csv",
        )  # fmt: skip
    with pytest.raises(TaxonomyError, match="missing column"):
        parse_taxonomy_additions([{"name": "a"}], "additions.csv")


def test_project_default_has_no_additions():
    assert load_taxonomy_additions() == []
