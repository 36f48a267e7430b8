{{ config(materialized='table') }}

select 1 as order_id, 'alice' as customer, cast(12.50 as decimal(10, 2)) as amount
union all
select 2 as order_id, 'bob' as customer, cast(7.25 as decimal(10, 2)) as amount
union all
select 3 as order_id, 'alice' as customer, cast(30.00 as decimal(10, 2)) as amount
