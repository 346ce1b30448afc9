"""Rule-based segments, pure: named audiences marketing users define in YAML over catalog
attributes.

`parse` turns the file's mapping into a RuleSet, `compile` validates it against the attribute
catalog and the governance policy and compiles it to parameterised SQL text, `membership` assigns
customers and reports. Reading the file and running the SQL is the I/O layer's job
(orchestration.io.config_files, orchestration.io.audiences). The names below are re-exported.
"""

from ml_assets.rules.compile import (
    COMPARISONS,
    LOGICAL,
    ML_SEGMENT_OPERATORS,
    OPERATORS,
    ORDER_OPERATORS,
    CompiledRule,
    catalog_types_and_policies,
    compile_rules,
    compile_segment,
    distinct_values_query,
    membership_query,
    quote_identifier,
    validate_rules,
    warehouse_issues,
)
from ml_assets.rules.membership import (
    MEMBER_COLUMNS,
    RuleEvaluation,
    assign_members,
    empty_segment_issues,
    errors_of,
    membership_diff,
    ml_segment_overlap,
    rule_evaluation,
    text_attributes,
    unseen_value_warnings,
)
from ml_assets.rules.parse import RuleIssue, RuleSegment, RuleSet, RuleValidationError, parse_rules

__all__ = [
    "COMPARISONS",
    "LOGICAL",
    "MEMBER_COLUMNS",
    "ML_SEGMENT_OPERATORS",
    "OPERATORS",
    "ORDER_OPERATORS",
    "CompiledRule",
    "RuleEvaluation",
    "RuleIssue",
    "RuleSegment",
    "RuleSet",
    "RuleValidationError",
    "assign_members",
    "catalog_types_and_policies",
    "compile_rules",
    "compile_segment",
    "distinct_values_query",
    "empty_segment_issues",
    "errors_of",
    "membership_diff",
    "membership_query",
    "ml_segment_overlap",
    "parse_rules",
    "quote_identifier",
    "rule_evaluation",
    "text_attributes",
    "unseen_value_warnings",
    "validate_rules",
    "warehouse_issues",
]
