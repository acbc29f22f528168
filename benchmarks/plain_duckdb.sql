-- The baseline: the same logical work as the platform in one DuckDB script.
-- Read every landed .tbl file with explicit columns, type, keep the latest version per key,
-- and compute the four gold marts. {landing} is substituted by the harness.

create or replace table orders as
select * exclude (rn) from (
    select
        o_orderkey, o_custkey, o_orderstatus, o_totalprice, o_orderdate,
        o_orderpriority, o_clerk, o_shippriority, o_comment,
        row_number() over (partition by o_orderkey order by filename desc) as rn
    from read_csv('{landing}/orders/*/*.tbl', delim = '|', header = false, filename = true,
        columns = {
            'o_orderkey': 'BIGINT', 'o_custkey': 'BIGINT', 'o_orderstatus': 'VARCHAR',
            'o_totalprice': 'DECIMAL(15,2)', 'o_orderdate': 'DATE', 'o_orderpriority': 'VARCHAR',
            'o_clerk': 'VARCHAR', 'o_shippriority': 'BIGINT', 'o_comment': 'VARCHAR', 'end': 'VARCHAR'
        })
) where rn = 1;

create or replace table lineitem as
select * exclude (rn) from (
    select
        l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice,
        l_discount, l_tax, l_returnflag, l_linestatus, l_shipdate, l_commitdate,
        l_receiptdate, l_shipinstruct, l_shipmode, l_comment,
        row_number() over (partition by l_orderkey, l_linenumber order by filename desc) as rn
    from read_csv('{landing}/lineitem/*/*.tbl', delim = '|', header = false, filename = true,
        columns = {
            'l_orderkey': 'BIGINT', 'l_partkey': 'BIGINT', 'l_suppkey': 'BIGINT',
            'l_linenumber': 'BIGINT', 'l_quantity': 'DECIMAL(15,2)',
            'l_extendedprice': 'DECIMAL(15,2)', 'l_discount': 'DECIMAL(15,2)',
            'l_tax': 'DECIMAL(15,2)', 'l_returnflag': 'VARCHAR', 'l_linestatus': 'VARCHAR',
            'l_shipdate': 'DATE', 'l_commitdate': 'DATE', 'l_receiptdate': 'DATE',
            'l_shipinstruct': 'VARCHAR', 'l_shipmode': 'VARCHAR', 'l_comment': 'VARCHAR',
            'end': 'VARCHAR'
        })
) where rn = 1;

create or replace table customer as
select distinct on (c_custkey) * exclude (filename, "end")
from read_csv('{landing}/customer/*/*.tbl', delim = '|', header = false, filename = true,
    columns = {
        'c_custkey': 'BIGINT', 'c_name': 'VARCHAR', 'c_address': 'VARCHAR',
        'c_nationkey': 'BIGINT', 'c_phone': 'VARCHAR', 'c_acctbal': 'DECIMAL(15,2)',
        'c_mktsegment': 'VARCHAR', 'c_comment': 'VARCHAR', 'end': 'VARCHAR'
    })
order by c_custkey, filename desc;

create or replace table supplier as
select distinct on (s_suppkey) * exclude (filename, "end")
from read_csv('{landing}/supplier/*/*.tbl', delim = '|', header = false, filename = true,
    columns = {
        's_suppkey': 'BIGINT', 's_name': 'VARCHAR', 's_address': 'VARCHAR',
        's_nationkey': 'BIGINT', 's_phone': 'VARCHAR', 's_acctbal': 'DECIMAL(15,2)',
        's_comment': 'VARCHAR', 'end': 'VARCHAR'
    })
order by s_suppkey, filename desc;

create or replace table nation as
select distinct on (n_nationkey) * exclude (filename, "end")
from read_csv('{landing}/nation/*/*.tbl', delim = '|', header = false, filename = true,
    columns = {
        'n_nationkey': 'BIGINT', 'n_name': 'VARCHAR', 'n_regionkey': 'BIGINT',
        'n_comment': 'VARCHAR', 'end': 'VARCHAR'
    })
order by n_nationkey, filename desc;

create or replace table region as
select distinct on (r_regionkey) * exclude (filename, "end")
from read_csv('{landing}/region/*/*.tbl', delim = '|', header = false, filename = true,
    columns = {
        'r_regionkey': 'BIGINT', 'r_name': 'VARCHAR', 'r_comment': 'VARCHAR', 'end': 'VARCHAR'
    })
order by r_regionkey, filename desc;

create schema if not exists gold;

create or replace table gold.daily_revenue_by_nation as
select
    o.o_orderdate as order_date,
    n.n_name as nation,
    count(distinct o.o_orderkey)::bigint as order_count,
    round(sum(l.l_extendedprice * (1 - l.l_discount)), 2)::decimal(18, 2) as revenue
from orders o
join lineitem l on l.l_orderkey = o.o_orderkey
join customer c on c.c_custkey = o.o_custkey
join nation n on n.n_nationkey = c.c_nationkey
group by all;

create or replace table gold.pricing_summary as
select
    l_returnflag, l_linestatus,
    sum(l_quantity) as sum_qty,
    sum(l_extendedprice) as sum_base_price,
    sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
    sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
    avg(l_quantity) as avg_qty,
    avg(l_extendedprice) as avg_price,
    avg(l_discount) as avg_disc,
    count(*) as count_order
from lineitem
where l_shipdate <= date '1998-12-01' - interval 90 day
group by l_returnflag, l_linestatus
order by l_returnflag, l_linestatus;

create or replace table gold.local_supplier_volume as
select n_name, sum(l_extendedprice * (1 - l_discount)) as revenue
from customer, orders, lineitem, supplier, nation, region
where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey
    and c_nationkey = s_nationkey and s_nationkey = n_nationkey and n_regionkey = r_regionkey
    and r_name = 'ASIA'
    and o_orderdate >= date '1994-01-01' and o_orderdate < date '1995-01-01'
group by n_name
order by revenue desc;

create or replace table gold.customer_lifetime_value as
select
    -- gold's customer name is a keyed pseudonym (dbt_project/macros/privacy.sql)
    c.c_custkey, left(sha256('{salt}' || c.c_name), 16) as c_name, n.n_name as nation,
    min(o.o_orderdate) as first_order_date,
    max(o.o_orderdate) as last_order_date,
    count(*)::bigint as order_count,
    sum(o.o_totalprice) as lifetime_value,
    case
        when sum(o.o_totalprice) >= 2000000 then 'VIP'
        when sum(o.o_totalprice) >= 1000000 then 'Gold'
        when sum(o.o_totalprice) >= 250000 then 'Silver'
        else 'Bronze'
    end as segment
from customer c
join orders o on o.o_custkey = c.c_custkey
join nation n on n.n_nationkey = c.c_nationkey
group by all;
