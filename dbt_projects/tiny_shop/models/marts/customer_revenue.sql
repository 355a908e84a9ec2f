-- What each customer has spent on completed orders.
select
    customer,
    count(*) as orders,
    sum(amount) as revenue
from {{ ref('stg_orders') }}
group by customer
