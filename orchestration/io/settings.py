"""Runtime configuration from environment variables, read lazily (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
CONFIG_DIR = PROJECT_ROOT / "config"


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def warehouse_path() -> Path:
    """The DuckDB warehouse file (WAREHOUSE_PATH, default data/warehouse.duckdb)."""
    return _path_from_env("WAREHOUSE_PATH", PROJECT_ROOT / "data" / "warehouse.duckdb")


def landing_dir() -> Path:
    """Where users drop raw files, one folder per raw table (LANDING_DIR, default data/landing)."""
    return _path_from_env("LANDING_DIR", PROJECT_ROOT / "data" / "landing")


def ingest_settle_seconds() -> float:
    """INGEST_SETTLE_SECONDS (default 2): a landing file modified this recently is looked at
    again after this long, and left for the next run if it is still changing."""
    return float(os.environ.get("INGEST_SETTLE_SECONDS") or 2.0)


def ingest_reuse_file_hashes() -> bool:
    """INGEST_REUSE_FILE_HASHES (default 1): re-use a landing file's content hash while its size,
    modification time, ctime and inode are unchanged; 0 hashes every file on every scan (for
    filesystems that do not keep ctime, such as some object-store mounts)."""
    value = (os.environ.get("INGEST_REUSE_FILE_HASHES") or "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def ingest_min_timestamp() -> str:
    """INGEST_MIN_TIMESTAMP (default 1970-01-01): timestamps before it are quarantined as
    implausible (0001-01-01 and other placeholder dates)."""
    return os.environ.get("INGEST_MIN_TIMESTAMP") or "1970-01-01"


def ingest_future_tolerance_hours() -> float:
    """INGEST_FUTURE_TOLERANCE_HOURS (default 24): timestamps later than now plus this are
    quarantined as in the future (clocks drift, so a little ahead is accepted)."""
    return float(os.environ.get("INGEST_FUTURE_TOLERANCE_HOURS") or 24.0)


def artifacts_dir() -> Path:
    """Where model artifacts and reports are written (ARTIFACTS_DIR, default data/artifacts)."""
    return _path_from_env("ARTIFACTS_DIR", PROJECT_ROOT / "data" / "artifacts")


def user_config_dir() -> Path | None:
    """SEGMENTATION_CONFIG_DIR: the user's folder of config files (policy, rules, names,
    playbooks), outside the checkout; files missing there fall back to the project's config/."""
    value = os.environ.get("SEGMENTATION_CONFIG_DIR")
    return Path(value).expanduser().resolve() if value else None


def activation_dir() -> Path:
    """Folder of the embedded default destinations (ACTIVATION_DIR, default data/)."""
    return _path_from_env("ACTIVATION_DIR", PROJECT_ROOT / "data")


def crm_database_url() -> str | None:
    """CRM_DATABASE_URL: the SQLAlchemy URL of the CRM; None means the embedded SQLite file."""
    return os.environ.get("CRM_DATABASE_URL") or None


def marketing_database_url() -> str | None:
    """MARKETING_DATABASE_URL: the marketing database; None means the embedded SQLite file."""
    return os.environ.get("MARKETING_DATABASE_URL") or None


# The pipeline's `dbt build` leaves out dbt's unit tests: they check the SQL on fixed fixture rows,
# not the data, so they belong to the test suite (tests/conftest.py builds with them), not to
# every run (a third of a build's node time at 2,000 accounts).
DBT_BUILD_EXCLUDES = ("--exclude-resource-type", "unit_test")


def dbt_threads() -> int:
    """DBT_THREADS (default 2): models and tests dbt runs at once."""
    return int(os.environ.get("DBT_THREADS") or 2)


def dbt_full_refresh() -> bool:
    """DBT_FULL_REFRESH (default off; 1/true/yes/on): the pipeline's `dbt build` runs with
    `--full-refresh`, rebuilding the incremental staging models from every raw row instead of
    adding the rows loaded since the last run (the same tables; needed after a model's logic
    changes)."""
    return (os.environ.get("DBT_FULL_REFRESH") or "").strip().lower() in ("1", "true", "yes", "on")


def dbt_build_args() -> list[str]:
    """`dbt build` arguments every pipeline build shares: the excludes, and `--full-refresh` when
    DBT_FULL_REFRESH asks for it (incremental by default)."""
    return [*DBT_BUILD_EXCLUDES, *(["--full-refresh"] if dbt_full_refresh() else [])]


def duckdb_memory_limit() -> str:
    """DUCKDB_MEMORY_LIMIT (default 3GB): DuckDB's memory limit during `dbt build`; beyond it
    DuckDB spills to the temp directory instead of growing (its own default is 80% of RAM).
    The limit covers DuckDB's buffers, not the whole process: at 100,000 accounts a 4GB limit
    gave the dbt process a 4.8 GB peak, so the default leaves room for the rest under 4 GB."""
    return os.environ.get("DUCKDB_MEMORY_LIMIT") or "3GB"


def duckdb_temp_directory(warehouse: Path) -> Path:
    """DUCKDB_TEMP_DIRECTORY (default <warehouse file>.tmp, next to the warehouse): where DuckDB
    spills what does not fit in the memory limit."""
    return _path_from_env("DUCKDB_TEMP_DIRECTORY", Path(f"{warehouse}.tmp"))


def dbt_environment(warehouse: Path) -> dict[str, str]:
    """The variables profiles.yml reads (env_var) for a dbt run on this warehouse file."""
    return {
        "WAREHOUSE_PATH": str(warehouse),
        "DBT_THREADS": str(dbt_threads()),
        "DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(),
        "DUCKDB_TEMP_DIRECTORY": str(duckdb_temp_directory(warehouse)),
    }


@contextmanager
def warehouse_path_for_subprocesses(path: Path) -> Iterator[None]:
    """Set dbt_environment(path) (WAREHOUSE_PATH, threads, memory limit, temp directory) while a
    subprocess (dbt, whose profiles.yml reads them) runs."""
    values = dbt_environment(path)
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
