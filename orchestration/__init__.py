"""Dagster code location for the customer segmentation platform."""
