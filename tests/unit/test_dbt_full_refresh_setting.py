"""The pipeline's `dbt build` is incremental unless DBT_FULL_REFRESH asks for a full refresh."""

import pytest

from orchestration.io import settings


def test_dbt_build_is_incremental_by_default(monkeypatch):
    monkeypatch.delenv("DBT_FULL_REFRESH", raising=False)
    assert "--full-refresh" not in settings.dbt_build_args()
    assert settings.dbt_build_args()[: len(settings.DBT_BUILD_EXCLUDES)] == list(
        settings.DBT_BUILD_EXCLUDES
    )


@pytest.mark.parametrize(("value", "full"), [("1", True), ("true", True), (" Yes ", True),
                                             ("0", False), ("no", False), ("", False)])  # fmt: skip
def test_dbt_full_refresh_from_the_environment(monkeypatch, value, full):
    monkeypatch.setenv("DBT_FULL_REFRESH", value)
    assert settings.dbt_full_refresh() is full
    assert ("--full-refresh" in settings.dbt_build_args()) is full
