with

source as (

    select * from {{ source('silver', 'customer') }}

),

renamed as (

    select
        c_custkey,
        c_name,
        c_nationkey

    from source

)

select * from renamed
