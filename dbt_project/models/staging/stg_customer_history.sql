{#-
    Every version of each customer, with the interval [valid_from, valid_to) it was valid in, as
    UTC timestamps without a zone: an order date compared with them is its day's start in UTC,
    whatever the session's time zone.
-#}

with

source as (

    select * from {{ source('silver', 'customer_history') }}

),

renamed as (

    select
        c_custkey,
        c_nationkey,
        timezone('UTC', valid_from) as valid_from,
        timezone('UTC', valid_to) as valid_to,
        is_current

    from source

)

select * from renamed
