-- One row per customer (every row of dim_customers): the published attribute catalog, as of the
-- scoring date (the latest data). Scoring, audiences and actions read this snapshot;
-- reference_date is its as-of date. Defined once, in customer_attribute_snapshots.
{{ select_attribute_snapshot(ref('customer_attribute_snapshots'), 'scoring') }}
