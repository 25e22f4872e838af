-- name: int_city_events_latest
-- description: The latest snapshot of each city event: the row with the greatest (status rank, _topic, _partition,
--   _offset), ranking reported < registered < dispatched < handled < verified < closed < cancelled.
--   Beside it, each lifecycle time's greatest value over all of the event's snapshots (max_*_at), for the lifecycle.
--   Incremental by reported day: every snapshot of an event carries its reported_at, so all land in one lake day.
-- materialization: incremental
-- incremental_by: reported_date
-- grain: (event_id)
-- depends_on: stg_lake__city_event
-- tests: unique(event_id); not_null(event_id, status, status_rank); expression(closed_date is null or closed_at is not null)

with

events as (
    select * from stg_lake__city_event
),

ranked as (
    select
        *,
        case status
            when 'reported' then 1
            when 'registered' then 2
            when 'dispatched' then 3
            when 'handled' then 4
            when 'verified' then 5
            when 'closed' then 6
            when 'cancelled' then 7
        end as status_rank,
        max(registered_at) over (partition by event_id) as max_registered_at,
        max(dispatched_at) over (partition by event_id) as max_dispatched_at,
        max(handled_at) over (partition by event_id) as max_handled_at,
        max(verified_at) over (partition by event_id) as max_verified_at,
        max(closed_at) over (partition by event_id) as max_closed_at,
        max(deadline_at) over (partition by event_id) as max_deadline_at
    from events
),

latest as (
    select *
    from ranked
    qualify row_number() over (
        partition by event_id
        order by status_rank desc, _topic desc, _partition desc, _offset desc
    ) = 1
),

final as (
    select
        cast(event_id as varchar) as event_id,
        cast(source_kind as varchar) as source_kind,
        cast(event_class as varchar) as event_class,
        cast(region_code as varchar) as region_code,
        cast(status as varchar) as status,
        cast(status_rank as integer) as status_rank,
        cast(reported_at as timestamptz) as reported_at,
        cast(reported_date as date) as reported_date,
        cast(closed_at as timestamptz) as closed_at,
        cast(closed_date as date) as closed_date,
        cast(max_registered_at as timestamptz) as max_registered_at,
        cast(max_dispatched_at as timestamptz) as max_dispatched_at,
        cast(max_handled_at as timestamptz) as max_handled_at,
        cast(max_verified_at as timestamptz) as max_verified_at,
        cast(max_closed_at as timestamptz) as max_closed_at,
        cast(max_deadline_at as timestamptz) as max_deadline_at
    from latest
)

select * from final
