-- name: int_video_presence_days
-- description: Which video event classes were alerted in which region on which Asia/Shanghai day, with how many
--   alerts: the video presence key-scenario coverage checks. One pass over the lake day's rows; incremental by that
--   day.
-- materialization: incremental
-- incremental_by: occurred_date
-- grain: (event_type, region_code, occurred_date)
-- depends_on: stg_lake__video_alert
-- tests: unique(event_type, region_code, occurred_date); not_null(event_type, region_code, occurred_date, records)

with

landed as (
    select * from stg_lake__video_alert
),

final as (
    select
        cast(event_type as varchar) as event_type,
        cast(region_code as varchar) as region_code,
        cast(occurred_date as date) as occurred_date,
        cast(count(*) as bigint) as records
    from landed
    group by all
)

select * from final
