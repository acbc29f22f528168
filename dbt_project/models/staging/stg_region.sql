with

source as (

    select * from {{ source('silver', 'region') }}

),

renamed as (

    select
        r_regionkey,
        r_name

    from source

)

select * from renamed
