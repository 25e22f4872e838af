-- name: int_hotline_presence_days
-- description: Which hotline categories had cases received in which region on which Asia/Shanghai day (any version
--   of a case), with how many case versions: the hotline presence key-scenario coverage checks. One pass over the
--   lake day's rows; incremental by that day.
-- materialization: incremental
-- incremental_by: received_date
-- grain: (category, region_code, received_date)
-- depends_on: stg_lake__hotline_case
-- tests: unique(category, region_code, received_date); not_null(category, region_code, received_date, records)

with

landed as (
    select * from stg_lake__hotline_case
),

final as (
    select
        cast(category as varchar) as category,
        cast(region_code as varchar) as region_code,
        cast(received_date as date) as received_date,
        cast(count(*) as bigint) as records
    from landed
    group by all
)

select * from final
