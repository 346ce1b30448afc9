"""Tools outside the Dagster code location: the sample-data generator, dataset adapters, the
benchmark, the catalog-docs builder and the command-line run entry point.

Nothing here is loaded by `orchestration.definitions`; tools may import from `orchestration`
(for example the raw contract), never the other way round.
"""
