-- Completed orders only, with the amount in whole euros.
select
    order_id,
    lower(customer) as customer,
    amount_cents / 100.0 as amount
from {{ source('raw', 'orders') }}
where status = 'completed'
