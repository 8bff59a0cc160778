-- Every KPI count of one agency-day, computed once from the daily states; the marts only roll
-- these up (to months, to today's boundaries, to the nation) and divide.
with calendar as (
    select day, working_day_number from {{ ref('int_calendar_days') }}
),

states as (
    select
        states.*,
        states.accepted_at >= states.day
            and states.accepted_at < states.day + interval 1 day as is_received_today,
        states.is_closed and states.closed_at >= states.day as is_closed_today,
        not states.is_closed and states.accepted_at is not null as is_pending
    from {{ ref('int_dossier_states_daily') }} as states
    where states.dossier_code is not null
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

counts as (
    select
        agency_code,
        day,
        count(*) filter (where is_received_today) as received_total,
        count(*) filter (where is_received_today and channel = 1) as received_in_person,
        count(*) filter (where is_received_today and channel = 2) as received_online,
        count(*) filter (where is_received_today and channel = 3) as received_by_post,
        count(*) filter (where accepted_at < day) as carried_over,
        count(*) filter (where is_completed) as completed,
        count(*) filter (where is_completed_on_time) as completed_on_time,
        count(*) filter (where is_closed_today and status = 3) as refused,
        count(*) filter (where is_closed_today and status = 7) as withdrawn,
        count(*) filter (where is_closed_today and status = 8) as stopped,
        count(*) filter (where is_pending_within_deadline) as pending_within_deadline,
        count(*) filter (where is_pending and not is_pending_within_deadline) as pending_overdue,
        coalesce(sum(handling_working_days), 0) as handling_working_days_total,
        count(*) filter (where is_completed and fee_amount_vnd > 0) as completed_fee_bearing,
        count(*) filter (
            where is_completed and fee_amount_vnd > 0 and online_payment in (1, 2)
        ) as completed_paid_online,
        coalesce(sum(fee_amount_vnd) filter (
            where is_completed and fee_amount_vnd > 0 and online_payment in (1, 2)
        ), 0) as amount_paid_online_vnd,
        count(*) filter (where is_completed and has_electronic_result) as completed_with_electronic_result
    from with_handling
    group by agency_code, day
),

grid as (
    select agency_code, day from {{ ref('stg_validated_partitions') }}
),

final as (
    select
        grid.agency_code,
        grid.day,
        {% for column in flow_measures() + opening_stock_measures() + closing_stock_measures() %}
        cast(coalesce(counts.{{ column }}, 0) as bigint) as {{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from grid
    left join counts
        on counts.agency_code = grid.agency_code
        and counts.day = grid.day
)

select * from final
