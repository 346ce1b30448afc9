"""Segmentation ML: plain modules (no Dagster imports) plus one thin module of Dagster assets."""
