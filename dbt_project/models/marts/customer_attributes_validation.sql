-- One row per customer (every row of dim_customers): the same attribute catalog as
-- customer_attributes, as of the validation date (scoring date - outcome window), so segments
-- built from it can be validated against customer_outcomes without leakage. reference_date is
-- its as-of date. Defined once, in customer_attribute_snapshots.
{{ select_attribute_snapshot(ref('customer_attribute_snapshots'), 'validation') }}
