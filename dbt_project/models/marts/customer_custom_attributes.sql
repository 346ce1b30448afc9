-- One row per customer per custom CRM attribute (long format): the latest value. When several of
-- a customer's CRM accounts or updates carry the attribute, the most recently updated value wins.
{{ latest_custom_attributes() }}
