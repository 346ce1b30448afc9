"""The event taxonomy on generated data with real dbt: a name listed twice in another case fails
at the seed (and across the seed and the user's additions) with an error naming it; a third
tracking-version label works; unmapped names are listed with counts and a suggestion."""

from __future__ import annotations

import json
import shutil

import pytest

from orchestration.io.config_files import taxonomy_dbt_vars
from orchestration.io.ingestion import load_landing
from orchestration.io.taxonomy import unmapped_event_names
from orchestration.io.warehouse import connect
from tests.support.dbt import run_dbt

HEADER = "raw_event_name_normalised,canonical_event,event_category,tracking_version\n"


@pytest.fixture
def warehouse(built_warehouse, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, copy)
    return copy


def _vars(tmp_path, rows: str) -> list[str]:
    additions = tmp_path / "config" / "event_taxonomy_additions.csv"
    additions.parent.mkdir(exist_ok=True)
    additions.write_text(HEADER + rows)
    return ["--vars", json.dumps(taxonomy_dbt_vars(additions))]


def test_duplicate_in_another_case_fails_at_the_seed_naming_it(warehouse):
    with connect(warehouse) as con:
        con.execute(
            "insert into seeds.event_taxonomy values ('Login', 'logged_in', 'access', 'v1')"
        )
    with pytest.raises(AssertionError) as failure:
        run_dbt(["test", "--select", "event_taxonomy"], warehouse)
    message = str(failure.value)
    assert "unique_case_insensitive_event_taxonomy_raw_event_name_normalised" in message
    assert "duplicated: 'login' ('Login', 'login')" in message


def test_user_addition_duplicating_the_seed_fails_naming_both_places(warehouse, tmp_path):
    dbt_vars = _vars(tmp_path, "USER LOGGED IN ,logged_in,access,v3\n")
    with pytest.raises(AssertionError) as failure:
        run_dbt(["build", "--select", "event_taxonomy", "int_event_taxonomy", *dbt_vars], warehouse)
    message = str(failure.value)
    assert "duplicated: 'user logged in' (" in message
    assert "'USER LOGGED IN' in " + str(tmp_path / "config") in message
    assert "'user logged in' in dbt_project/seeds/event_taxonomy.csv" in message


def test_third_tracking_version_maps_and_unmapped_names_get_suggestions(warehouse, tmp_path):
    with connect(warehouse, read_only=True) as con:
        user_id = con.execute("select min(user_id) from staging.stg_product__users").fetchone()[0]
    landing = tmp_path / "landing" / "product_events"
    landing.mkdir(parents=True)
    (landing / "product_events_web_2025.csv").write_text(
        "event_id,user_id,event_name,occurred_at,properties\n"
        f"evt_web_1,{user_id},Web: Dashboard Opened,2025-11-01T10:00:00Z,{{}}\n"
        f"evt_web_2,{user_id},Dashbord Viewd,2025-11-02T10:00:00Z,{{}}\n"
        f"evt_web_3,{user_id},dashbord viewd ,2025-11-03T10:00:00Z,{{}}\n"
        f"evt_web_4,{user_id},Zzyzx Qwerty,2025-11-03T11:00:00Z,{{}}\n"
    )
    with connect(warehouse) as con:
        load_landing(landing.parent, con)
    dbt_vars = _vars(tmp_path, "web: dashboard opened,dashboard_viewed,consumption,2025-web\n")
    result = run_dbt(
        ["build", "--select", "stg_product__events", "int_event_taxonomy", "int_events_normalised",
         "int_events_unmapped", "assert_event_taxonomy_gives_each_canonical_event_one_category",
         *dbt_vars],
        warehouse,
    )  # fmt: skip
    assert "assert_event_taxonomy_gives_each_canonical_event_one_category" in result.stdout
    with connect(warehouse, read_only=True) as con:
        mapped = con.execute(
            "select canonical_event, tracking_version from intermediate.int_events_normalised "
            "where event_id = 'evt_web_1'"
        ).fetchone()
        unmapped = unmapped_event_names(con).set_index("raw_event_name_normalised")
    assert mapped == ("dashboard_viewed", "2025-web")
    assert list(unmapped.index) == ["dashbord viewd", "zzyzx qwerty"]  # most frequent first
    assert unmapped.loc["dashbord viewd", "event_count"] == 2
    assert unmapped.loc["dashbord viewd", "suggested_canonical_event"] == "dashboard_viewed"
    assert unmapped.loc["zzyzx qwerty", "suggested_canonical_event"] is None
