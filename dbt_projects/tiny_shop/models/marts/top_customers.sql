-- Customers who spent 50 euros or more.
select customer, revenue
from {{ ref('customer_revenue') }}
where revenue >= 50
