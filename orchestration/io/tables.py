"""Every warehouse table the Python code reads or writes, named once (docs/interfaces.md as code).

A `Table` is a (schema, name) pair: `read_table(con, *tables.CUSTOMER_SEGMENTS)`, its quoted SQL
name is `.sql`, and a Dagster asset key is built from the same two parts, so the key of a table's
asset and the table it writes can never drift apart.
"""

from __future__ import annotations

from typing import NamedTuple


class Table(NamedTuple):
    schema: str
    name: str

    @property
    def sql(self) -> str:
        """The quoted, schema-qualified name for SQL text."""
        return f'"{self.schema}"."{self.name}"'

    @property
    def path(self) -> list[str]:
        """The asset-key path of the asset that owns this table."""
        return [self.schema, self.name]


# Schemas written by Python (dbt writes staging, intermediate, marts and reporting).
RAW_SCHEMA = "raw"
QUARANTINE_SCHEMA = "raw_quarantine"
SEGMENTATION_SCHEMA = "segmentation"
MONITORING_SCHEMA = "monitoring"
GOVERNANCE_SCHEMA = "governance"
AUDIENCES_SCHEMA = "audiences"
ACTIVATION_SCHEMA = "activation"
REPORTING_SCHEMA = "reporting"

# raw: the ingestion ledger (raw tables themselves are named by the contract).
LOAD_LEDGER = Table(RAW_SCHEMA, "_load_ledger")
LANDING_DIGESTS = Table(RAW_SCHEMA, "_landing_digests")  # hash cache of landing files

# staging (dbt): the CRM accounts seed the embedded demo CRM
STAGED_CRM_ACCOUNTS = Table("staging", "stg_crm__accounts")
# staging (dbt): consent decisions per normalised email and purpose (marketing consent per address)
STAGED_CONSENT_EVENTS = Table("staging", "stg_consent__events")

# intermediate (dbt): the taxonomy in use (seed + the user's additions) and the raw event names
# it does not map, with their volume
EVENT_TAXONOMY = Table("intermediate", "int_event_taxonomy")
EVENTS_UNMAPPED = Table("intermediate", "int_events_unmapped")

# marts (dbt)
CUSTOMER_ATTRIBUTES = Table("marts", "customer_attributes")
# the same attributes as of the validation date (scoring date - outcome window), for outcome checks
CUSTOMER_ATTRIBUTES_VALIDATION = Table("marts", "customer_attributes_validation")
# one row: scoring_date, validation_date, outcome_end_date, outcome_window_days
REFERENCE_PERIOD = Table("marts", "reference_period")
CUSTOM_ATTRIBUTES = Table("marts", "customer_custom_attributes")
# The custom attributes as of the validation date, for the validation snapshot.
CUSTOM_ATTRIBUTES_VALIDATION = Table("marts", "customer_custom_attributes_validation")
ATTRIBUTE_QUALITY = Table("marts", "attribute_quality")
CUSTOMER_OUTCOMES = Table("marts", "customer_outcomes")
DIM_CUSTOMERS = Table("marts", "dim_customers")

# segmentation
CUSTOMER_SEGMENTS = Table(SEGMENTATION_SCHEMA, "customer_segments")
SEGMENT_PROFILES = Table(SEGMENTATION_SCHEMA, "segment_profiles")
MODEL_SELECTION = Table(SEGMENTATION_SCHEMA, "model_selection")
FEATURE_MATRIX_COLUMNS = Table(SEGMENTATION_SCHEMA, "feature_matrix_columns")
TRAINING_LOG = Table(SEGMENTATION_SCHEMA, "training_log")  # every retrain-or-keep decision
# the model's assignment on the validation snapshot: what outcomes are compared with
VALIDATION_SEGMENTS = Table(SEGMENTATION_SCHEMA, "validation_segments")

# monitoring
MEMBERSHIP_HISTORY = Table(MONITORING_SCHEMA, "segment_membership_history")
MEMBERSHIP_EPISODES = Table(MONITORING_SCHEMA, "segment_membership_episodes")  # entered/left
SEGMENT_MIGRATION = Table(MONITORING_SCHEMA, "segment_migration")
ACTION_ENTRANTS = Table(MONITORING_SCHEMA, "action_entrants")
FEATURE_SNAPSHOTS = Table(MONITORING_SCHEMA, "feature_snapshots")
FEATURE_DRIFT = Table(MONITORING_SCHEMA, "feature_drift")
SEGMENT_REVIEW = Table(MONITORING_SCHEMA, "segment_review")  # the monthly review, appended
# every scoring run: published or held by a blocking check, and why
SCORING_RUNS = Table(MONITORING_SCHEMA, "scoring_runs")

# governance and audiences
SEGMENT_COMPOSITION = Table(GOVERNANCE_SCHEMA, "segment_composition")
# what the governance_policy check decided (excluded / usable attributes) for the model of its run
FEATURE_DECISIONS = Table(GOVERNANCE_SCHEMA, "feature_decisions")
RULE_SEGMENTS = Table(AUDIENCES_SCHEMA, "rule_segments")

# activation
SYNC_LEDGER = Table(ACTIVATION_SCHEMA, "sync_ledger")
SYNC_STATE = Table(ACTIVATION_SCHEMA, "sync_state")

# reporting
SEGMENT_PERFORMANCE = Table(REPORTING_SCHEMA, "segment_performance")
SEGMENT_REPORT = Table(REPORTING_SCHEMA, "segment_report")  # an HTML file, not a table
