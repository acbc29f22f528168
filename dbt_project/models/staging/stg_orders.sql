with

source as (

    select * from {{ source('silver', 'orders') }}

),

renamed as (

    select
        o_orderkey,
        o_custkey,
        o_orderdate,
        o_totalprice

    from source

)

select * from renamed
