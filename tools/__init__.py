"""Tools outside the Dagster code location: the sample-data generator, dataset adapters, the
benchmark, the catalog-docs builder and the command-line run entry point."""
