with

source as (

    select * from {{ source('silver', 'nation') }}

),

renamed as (

    select
        n_nationkey,
        n_name,
        n_regionkey

    from source

)

select * from renamed
