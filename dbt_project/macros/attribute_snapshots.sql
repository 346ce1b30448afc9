{#- The columns of the attribute catalog, in order: customer_attributes (the scoring snapshot) and
    customer_attributes_validation (the validation snapshot) both select exactly these from
    customer_attribute_snapshots, so the two snapshots always have the same columns. -#}
{% macro attribute_catalog_columns() -%}
    {{ return([
        'customer_key', 'reference_date', 'customer_type', 'industry', 'sector', 'country',
        'employee_count', 'tenure_days', 'current_mrr', 'mrr_90d_ago', 'mrr_growth_90d',
        'total_revenue_365d', 'invoice_count_365d', 'avg_invoice_amount', 'late_payment_share',
        'active_subscriptions', 'lifetime_revenue', 'total_revenue_90d', 'invoice_count_90d',
        'days_since_last_invoice', 'active_users_30d', 'active_days_30d',
        'active_days_90d', 'events_30d', 'events_90d', 'events_per_active_day_90d',
        'feature_breadth_90d', 'days_since_last_activity', 'usage_trend_30d',
        'emails_delivered_90d', 'email_open_rate_90d', 'email_click_rate_90d', 'unsubscribed_flag',
        'tickets_90d', 'high_priority_tickets_90d', 'avg_resolution_hours_90d',
        'support_csat_avg_365d', 'nps_latest', 'nps_avg_365d', 'contact_count',
    ]) }}
{%- endmacro %}

{#- select <catalog columns> from <snapshots relation> where snapshot = '<snapshot>' -#}
{% macro select_attribute_snapshot(snapshots_relation, snapshot) -%}
select
    {%- for column in attribute_catalog_columns() %}
    {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ snapshots_relation }}
where snapshot = '{{ snapshot }}'
{%- endmacro %}
