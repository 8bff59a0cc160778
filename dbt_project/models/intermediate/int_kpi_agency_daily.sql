{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='agency_days',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Every KPI count of one agency-day, computed once from the dossier intervals; the marts only
-- roll these up (to months, to today's boundaries, to the nation) and divide.
--
-- A count on day D is over the versions whose interval covers D (the dossier's state at the end
-- of D, or the day its handling ended). Instead of expanding each interval into its days, each
-- interval is cut where a rule that depends on the day can change (the acceptance day, the day
-- after it, the first day past the due date in force), so that every rule is constant over a
-- segment and is evaluated once, on the segment's first day, with the very expressions a
-- per-day table would use. A segment adds its counts on its first day and takes them back the
-- day after its last; a running sum per agency gives each day's figures. The work follows the
-- versions, not the open stock times the days.
--
-- Incremental: the agency-days from each agency's first restated day on (days before it cannot
-- change), replacing the rows it had there, a day no longer validated included
-- (macros/incremental_builds.sql).
with calendar as (
    select day, working_day_number from {{ ref('int_calendar_days') }}
),

targets as (
    {{ rebuilt_agency_days() }}
),

target_range as (
    select agency_code, min(day) as first_day, max(day) as last_day
    from targets
    group by agency_code
),

intervals as (
    -- The versions that are some target day's state, clamped to the days being built.
    select
        -- (the day it was landed is not a day it is counted on: `day` is set per segment below)
        intervals.* exclude (day),
        greatest(intervals.valid_from, target_range.first_day) as clamped_from,
        least(intervals.valid_to, target_range.last_day) as clamped_to
    from {{ ref('int_dossier_state_intervals') }} as intervals
    inner join target_range on target_range.agency_code = intervals.agency_code
    where intervals.dossier_code is not null
        and intervals.valid_to >= target_range.first_day
        and intervals.valid_from <= target_range.last_day
        and intervals.valid_from <= intervals.valid_to
),

cuts as (
    select
        *,
        -- The first days of the segments: the interval's own, and each day a rule may flip on.
        list_concat([clamped_from], list_sort(list_distinct(list_filter(
            [
                cast(accepted_at as date),      -- received that day
                cast(accepted_at as date) + 1,  -- carried over from the next day on
                cast(effective_due_at as date)  -- past the due date at that day's end
            ],
            lambda cut: cut > clamped_from and cut <= clamped_to
        )))) as segment_starts
    from intervals
),

segments as (
    select
        * exclude (segment_starts),
        unnest(segment_starts) as segment_from,
        unnest(list_concat(list_transform(segment_starts[2:], lambda start: start - 1), [clamped_to])) as segment_to
    from cuts
),

states as (
    -- `day`: the segment's first day; every flag below has the same value on all its days.
    select
        segments.*,
        segments.segment_from as day,
        segments.accepted_at >= segments.segment_from
            and segments.accepted_at < segments.segment_from + interval 1 day as is_received_today,
        segments.is_closed and segments.closed_at >= segments.segment_from as is_closed_today,
        not segments.is_closed and segments.accepted_at is not null as is_pending
    from segments
),

flags as (
    select
        *,
        is_closed_today and status in (9, 10) as is_completed,
        is_closed_today and status in (9, 10)
            and closed_at <= effective_due_at and supplement_count <= 1 as is_completed_on_time,
        -- Waiting on a supplement pauses the clock; a second supplement request counts as late.
        is_pending and supplement_count <= 1
            and (status = 5 or effective_due_at >= day + interval 1 day) as is_pending_within_deadline
    from states
),

with_handling as (
    select
        flags.*,
        case when flags.is_completed
            then ended.working_day_number - accepted.working_day_number
        end as handling_working_days
    from flags
    left join calendar as accepted on accepted.day = cast(flags.accepted_at as date)
    left join calendar as ended on ended.day = cast(flags.closed_at as date)
),

contributions as (
    -- What one segment adds to each count on each of its days (a count's filter, as 1 or 0).
    select
        agency_code,
        segment_from,
        segment_to,
        case when is_received_today then 1 else 0 end as received_total,
        case when is_received_today and channel = 1 then 1 else 0 end as received_in_person,
        case when is_received_today and channel = 2 then 1 else 0 end as received_online,
        case when is_received_today and channel = 3 then 1 else 0 end as received_by_post,
        case when accepted_at < day then 1 else 0 end as carried_over,
        case when is_completed then 1 else 0 end as completed,
        case when is_completed_on_time then 1 else 0 end as completed_on_time,
        case when is_closed_today and status = 3 then 1 else 0 end as refused,
        case when is_closed_today and status = 7 then 1 else 0 end as withdrawn,
        case when is_closed_today and status = 8 then 1 else 0 end as stopped,
        case when is_pending_within_deadline then 1 else 0 end as pending_within_deadline,
        case when is_pending and not is_pending_within_deadline then 1 else 0 end as pending_overdue,
        coalesce(handling_working_days, 0) as handling_working_days_total,
        case when is_completed and fee_amount_vnd > 0 then 1 else 0 end as completed_fee_bearing,
        case when is_completed and fee_amount_vnd > 0 and online_payment in (1, 2)
            then 1 else 0 end as completed_paid_online,
        case when is_completed and fee_amount_vnd > 0 and online_payment in (1, 2)
            then coalesce(fee_amount_vnd, 0) else 0 end as amount_paid_online_vnd,
        case when is_completed and has_electronic_result then 1 else 0 end as completed_with_electronic_result
    from with_handling
),

{%- set measures = flow_measures() + opening_stock_measures() + closing_stock_measures() %}

deltas as (
    -- A segment's counts start on its first day and stop the day after its last.
    select agency_code, segment_from as day,
        {% for column in measures %}{{ column }}{{ ", " if not loop.last }}{% endfor %}
    from contributions
    union all
    select agency_code, segment_to + 1 as day,
        {% for column in measures %}-{{ column }} as {{ column }}{{ ", " if not loop.last }}{% endfor %}
    from contributions
),

daily_deltas as (
    select
        agency_code,
        day,
        {% for column in measures %}
        sum({{ column }}) as {{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from deltas
    group by agency_code, day
),

running as (
    select
        agency_code,
        day,
        {% for column in measures %}
        sum({{ column }}) over (partition by agency_code order by day) as {{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from daily_deltas
),

final as (
    -- Each target day takes the running sums as of its own day (the last change on or before it).
    select
        targets.agency_code,
        targets.day,
        {% for column in measures %}
        cast(coalesce(running.{{ column }}, 0) as bigint) as {{ column }},
        {% endfor %}
        {{ build_stamp() }} as built_at
    from targets
    asof left join running
        on running.agency_code = targets.agency_code
        and running.day <= targets.day
)

select * from final
