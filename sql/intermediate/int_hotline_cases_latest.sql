-- name: int_hotline_cases_latest
-- description: The latest state of each 12345 hotline case: of its versions (stg_lake__hotline_case, one per
--   (case_id, status)), the one with the greatest status rank (received < dispatched < handling < closed), then the
--   newest updated_at (a missing update time is the oldest), then the last landed (_ingested_at, _topic, _partition,
--   _offset). Every column comes from that version, so a follow-up visit recorded on a later closed version is what
--   counts. category_l1 / category_l2 are the category's first segment and its first two segments joined by '/'
--   (a one-segment category is its own level 2); received_date and deadline_date are Asia/Shanghai days.
--   Incremental by received day: every version of a case carries its received_at, so all land in one lake day.
-- materialization: incremental
-- incremental_by: received_date
-- grain: (case_id)
-- depends_on: stg_lake__hotline_case
-- tests: unique(case_id);
--   not_null(case_id, status, status_rank, version_count, received_at, received_date, channel, request_type, category,
--     category_l1, category_l2, region_code);
--   accepted_values(status: received|dispatched|handling|closed);
--   expression((deadline_date is null) = (deadline_at is null));
--   warn: expression(responded_at is null or responded_at >= received_at);
--   warn: expression(closed_at is null or closed_at >= received_at)

with

versions as (
    select * from stg_lake__hotline_case
),

ranked as (
    select
        *,
        case status
            when 'received' then 1
            when 'dispatched' then 2
            when 'handling' then 3
            when 'closed' then 4
        end as status_rank,
        count(*) over (partition by case_id) as version_count
    from versions
),

latest as (
    select *
    from ranked
    qualify row_number() over (
        partition by case_id
        order by
            status_rank desc,
            updated_at desc nulls last,
            _ingested_at desc,
            _topic desc,
            _partition desc,
            _offset desc
    ) = 1
),

categorized as (
    select
        *,
        string_split(category, '/')[1] as category_l1,
        array_to_string(string_split(category, '/')[1:2], '/') as category_l2,
        {{ shanghai_date('deadline_at') }} as deadline_date
    from latest
),

final as (
    select
        cast(case_id as varchar) as case_id,
        cast(status as varchar) as status,
        cast(status_rank as integer) as status_rank,
        cast(version_count as integer) as version_count,
        cast(updated_at as timestamptz) as updated_at,
        cast(received_at as timestamptz) as received_at,
        cast(received_date as date) as received_date,
        cast(channel as varchar) as channel,
        cast(request_type as varchar) as request_type,
        cast(category as varchar) as category,
        cast(category_l1 as varchar) as category_l1,
        cast(category_l2 as varchar) as category_l2,
        cast(region_code as varchar) as region_code,
        cast(department_code as varchar) as department_code,
        cast(responded_at as timestamptz) as responded_at,
        cast(closed_at as timestamptz) as closed_at,
        cast(deadline_at as timestamptz) as deadline_at,
        cast(deadline_date as date) as deadline_date,
        cast(is_contacted as boolean) as is_contacted,
        cast(is_resolved as boolean) as is_resolved,
        cast(satisfaction as varchar) as satisfaction
    from categorized
)

select * from final
