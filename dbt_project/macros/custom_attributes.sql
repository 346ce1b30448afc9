{#- One row per customer per custom CRM attribute (long format) from the attributed history
    (int_account_attributes_attributed): the most recently updated value wins, across the
    customer's CRM accounts and updates; with `as_of` (a date expression), only values updated on
    or before that date count. A value without updated_at has no known date and always counts
    (the CRM delivered it without saying when it changed). -#}
{% macro latest_custom_attributes(as_of=none) -%}
with

account_attributes as (

    select * from {{ ref('int_account_attributes_attributed') }}
    where customer_key is not null
    {%- if as_of is not none %}
        and (updated_at is null or cast(updated_at as date) <= {{ as_of }})
    {%- endif %}

),

attributes as (

    select
        account_attributes.customer_key,
        account_attributes.attribute,
        account_attributes.value,
        account_attributes.updated_at,
        account_attributes.account_id,
        row_number() over (
            partition by account_attributes.customer_key, account_attributes.attribute
            order by account_attributes.updated_at desc nulls last, account_attributes.loaded_at desc,
                account_attributes.account_id asc
        ) as value_rank
    from account_attributes

)

select
    customer_key,
    attribute,
    value,
    updated_at,
    account_id as source_account_id
from attributes
where value_rank = 1
{%- endmacro %}
