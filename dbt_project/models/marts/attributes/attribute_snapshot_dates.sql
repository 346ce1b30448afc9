-- Two rows, the snapshot spine of the attribute layer: every attribute sub-model joins it and
-- computes each customer's attributes once per snapshot, as of its as_of_date.
--   scoring:    as of reference_period.scoring_date (published: customer_attributes)
--   validation: as of reference_period.validation_date (customer_attributes_validation)
with

period as (

    select
        scoring_date,
        validation_date
    from {{ ref('reference_period') }}

)

select
    'scoring' as snapshot,
    scoring_date as as_of_date
from period
union all
select
    'validation' as snapshot,
    validation_date as as_of_date
from period
