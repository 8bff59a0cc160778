-- Processed records per agency and day (Decision 766/QĐ-TTg, group 2: handling progress).
with states as (
    select
        *,
        accepted_at >= day and accepted_at < day + interval 1 day as is_received_today,
        is_closed and closed_at >= day as is_closed_today,
        not is_closed and accepted_at is not null as is_pending
    from {{ ref('int_dossier_states_daily') }}
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
        count(*) filter (where is_pending and not is_pending_within_deadline) as pending_overdue
    from flags
    group by agency_code, day
),

grid as (
    select agency_code, day from {{ ref('stg_validated_partitions') }}
),

final as (
    select
        grid.agency_code,
        grid.day,
        coalesce(counts.received_total, 0) as received_total,
        coalesce(counts.received_in_person, 0) as received_in_person,
        coalesce(counts.received_online, 0) as received_online,
        coalesce(counts.received_by_post, 0) as received_by_post,
        coalesce(counts.carried_over, 0) as carried_over,
        coalesce(counts.completed, 0) as completed,
        coalesce(counts.completed_on_time, 0) as completed_on_time,
        coalesce(counts.completed, 0) - coalesce(counts.completed_on_time, 0) as completed_late,
        coalesce(counts.refused, 0) as refused,
        coalesce(counts.withdrawn, 0) as withdrawn,
        coalesce(counts.stopped, 0) as stopped,
        coalesce(counts.pending_within_deadline, 0) as pending_within_deadline,
        coalesce(counts.pending_overdue, 0) as pending_overdue,
        coalesce(counts.completed_on_time, 0) + coalesce(counts.pending_within_deadline, 0)
            as on_time_numerator,
        coalesce(counts.completed, 0) + coalesce(counts.pending_within_deadline, 0)
            + coalesce(counts.pending_overdue, 0) as on_time_denominator
    from grid
    left join counts
        on counts.agency_code = grid.agency_code
        and counts.day = grid.day
)

select
    *,
    {{ safe_rate('on_time_numerator', 'on_time_denominator') }} as on_time_rate
from final
