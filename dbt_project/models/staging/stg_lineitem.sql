with

source as (

    select * from {{ source('silver', 'lineitem') }}

),

renamed as (

    select
        l_orderkey,
        l_linenumber,
        l_suppkey,
        l_quantity,
        l_extendedprice,
        l_discount,
        l_tax,
        l_returnflag,
        l_linestatus,
        l_shipdate

    from source

)

select * from renamed
