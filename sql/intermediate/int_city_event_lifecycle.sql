-- name: int_city_event_lifecycle
-- description: Each city event once, as of the build's data cut-off: identity (source kind, event class, region,
--   reported_at and its Asia/Shanghai reported_date) and status from its latest snapshot (int_city_events_latest);
--   each lifecycle timestamp and the deadline from whichever snapshot carries it (the greatest value over the event's
--   snapshots, so a closed snapshot lacking handled_at keeps an earlier snapshot's; the greatest deadline is the one
--   in force after an extension). A stage is reached when its timestamp is before the cut-off, or, when no snapshot
--   carries that timestamp, when the latest status is that stage or later; a later stage implies every earlier one.
--   A cancelled (作废) event reaches no stage. On time: the stage's timestamp is at or before deadline_at (never
--   without a deadline). handling_hours: dispatched_at → handled_at; closure_hours: reported_at → closed_at.
-- materialization: table
-- grain: (event_id)
-- depends_on: int_city_events_latest, hub_settings
-- tests: unique(event_id); not_null(event_id, source_kind, event_class, region_code, reported_date, status,
--     is_cancelled, is_registered, is_dispatched, is_handled, is_closed, is_handled_on_time, is_closed_on_time,
--     has_deadline);
--   expression(is_dispatched <= is_registered and is_handled <= is_dispatched and is_closed <= is_handled);
--   expression(is_handled_on_time <= is_handled and is_closed_on_time <= is_closed);
--   expression(not (is_cancelled and is_registered));
--   expression(handling_hours is null or is_handled); expression(closure_hours is null or is_closed);
--   warn: expression(handling_hours is null or handling_hours >= 0);
--   warn: expression(closure_hours is null or closure_hours >= 0)

with

settings as (
    select * from hub_settings
),

latest as (
    select * from int_city_events_latest
),

joined as (
    select
        latest.event_id,
        latest.source_kind,
        latest.event_class,
        latest.region_code,
        latest.status,
        latest.status_rank,
        latest.reported_at,
        latest.max_registered_at as registered_at,
        latest.max_dispatched_at as dispatched_at,
        latest.max_handled_at as handled_at,
        latest.max_verified_at as verified_at,
        latest.max_closed_at as closed_at,
        latest.max_deadline_at as deadline_at,
        settings.data_cutoff
    from latest
    cross join settings
),

-- Each stage on its own: its timestamp decides when present, else the latest status (ranks of int_city_events_latest).
stages as (
    select
        *,
        status = 'cancelled' as is_cancelled,
        coalesce(registered_at < data_cutoff, status_rank >= 2) as registered_stage,
        coalesce(dispatched_at < data_cutoff, status_rank >= 3) as dispatched_stage,
        coalesce(handled_at < data_cutoff, status_rank >= 4) as handled_stage,
        coalesce(verified_at < data_cutoff, status_rank >= 5) as verified_stage,
        coalesce(closed_at < data_cutoff, status_rank >= 6) as closed_stage
    from joined
),

reached as (
    select
        *,
        not is_cancelled and closed_stage as is_closed,
        not is_cancelled and (handled_stage or verified_stage or closed_stage) as is_handled,
        not is_cancelled and (dispatched_stage or handled_stage or verified_stage or closed_stage) as is_dispatched,
        not is_cancelled
        and (registered_stage or dispatched_stage or handled_stage or verified_stage or closed_stage) as is_registered
    from stages
),

timed as (
    select
        *,
        is_handled and coalesce(handled_at < data_cutoff and handled_at <= deadline_at, false) as is_handled_on_time,
        is_closed and coalesce(closed_at < data_cutoff and closed_at <= deadline_at, false) as is_closed_on_time,
        case
            when is_handled and handled_at < data_cutoff and dispatched_at is not null
                then (epoch(handled_at) - epoch(dispatched_at)) / 3600.0
        end as handling_hours,
        case
            when is_closed and closed_at < data_cutoff
                then (epoch(closed_at) - epoch(reported_at)) / 3600.0
        end as closure_hours
    from reached
),

final as (
    select
        cast(event_id as varchar) as event_id,
        cast(source_kind as varchar) as source_kind,
        cast(event_class as varchar) as event_class,
        cast(region_code as varchar) as region_code,
        cast(reported_at as timestamptz) as reported_at,
        {{ shanghai_date('reported_at') }} as reported_date,
        cast(status as varchar) as status,
        cast(registered_at as timestamptz) as registered_at,
        cast(dispatched_at as timestamptz) as dispatched_at,
        cast(handled_at as timestamptz) as handled_at,
        cast(verified_at as timestamptz) as verified_at,
        cast(closed_at as timestamptz) as closed_at,
        cast(deadline_at as timestamptz) as deadline_at,
        cast(is_cancelled as boolean) as is_cancelled,
        cast(is_registered as boolean) as is_registered,
        cast(is_dispatched as boolean) as is_dispatched,
        cast(is_handled as boolean) as is_handled,
        cast(is_closed as boolean) as is_closed,
        cast(is_handled_on_time as boolean) as is_handled_on_time,
        cast(is_closed_on_time as boolean) as is_closed_on_time,
        cast(deadline_at is not null as boolean) as has_deadline,
        cast(handling_hours as double) as handling_hours,
        cast(closure_hours as double) as closure_hours
    from timed
)

select * from final
