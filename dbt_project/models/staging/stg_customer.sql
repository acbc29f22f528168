with

source as (

    select * from {{ source('silver', 'customer') }}

),

renamed as (

    select
        c_custkey,
        {{ for_gold('customer', 'c_name') }} as c_name,
        c_nationkey

    from source

)

select * from renamed
