with

source as (

    select * from {{ source('silver', 'supplier') }}

),

renamed as (

    select
        s_suppkey,
        s_name,
        s_nationkey

    from source

)

select * from renamed
