"""Tools outside the Dagster code location: sample-data generator, adapters, bench, docs builder.

Nothing here is loaded by `orchestration.definitions`; tools may import from `orchestration`
(for example the raw contract), never the other way round.
"""
