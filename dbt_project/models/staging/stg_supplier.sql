with

source as (

    select * from {{ source('silver', 'supplier') }}

),

renamed as (

    select
        s_suppkey,
        {{ for_gold('supplier', 's_name') }} as s_name,
        s_nationkey

    from source

)

select * from renamed
