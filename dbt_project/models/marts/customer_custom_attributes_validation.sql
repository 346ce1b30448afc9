-- customer_custom_attributes as of the validation date (reference_period.validation_date): the
-- latest value updated on or before it, so the validation snapshot (customer_attributes_validation)
-- is not scored on custom values from the outcome window. Values without updated_at count as known.
{{ latest_custom_attributes(as_of="(select validation_date from " ~ ref('reference_period') ~ ")") }}
