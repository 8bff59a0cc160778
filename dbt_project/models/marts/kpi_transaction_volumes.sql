-- Transaction volumes per agency and day (Decision 766/QĐ-TTg items 3.3, 3.6, 4.1):
-- channels of the dossiers received; payments and electronic results of those completed.
with states as (
    select
        *,
        accepted_at >= day and accepted_at < day + interval 1 day as is_received_today,
        is_closed and closed_at >= day and status in (9, 10) as is_completed_today
    from {{ ref('int_dossier_states_daily') }}
),

counts as (
    select
        agency_code,
        day,
        count(*) filter (where is_received_today) as received_total,
        count(*) filter (where is_received_today and channel = 1) as received_in_person,
        count(*) filter (where is_received_today and channel = 2) as received_online,
        count(*) filter (where is_received_today and channel = 3) as received_by_post,
        count(*) filter (where is_completed_today) as completed,
        count(*) filter (where is_completed_today and fee_amount_vnd > 0) as completed_fee_bearing,
        count(*) filter (
            where is_completed_today and fee_amount_vnd > 0 and online_payment in (1, 2)
        ) as completed_paid_online,
        coalesce(sum(fee_amount_vnd) filter (
            where is_completed_today and fee_amount_vnd > 0 and online_payment in (1, 2)
        ), 0) as amount_paid_online_vnd,
        count(*) filter (where is_completed_today and has_electronic_result) as completed_with_electronic_result
    from states
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
        coalesce(counts.completed, 0) as completed,
        coalesce(counts.completed_fee_bearing, 0) as completed_fee_bearing,
        coalesce(counts.completed_paid_online, 0) as completed_paid_online,
        cast(coalesce(counts.amount_paid_online_vnd, 0) as bigint) as amount_paid_online_vnd,
        coalesce(counts.completed_with_electronic_result, 0) as completed_with_electronic_result
    from grid
    left join counts
        on counts.agency_code = grid.agency_code
        and counts.day = grid.day
)

select
    *,
    {{ safe_rate('received_online', 'received_total') }} as online_dossier_rate,
    {{ safe_rate('completed_paid_online', 'completed_fee_bearing') }} as online_payment_rate,
    {{ safe_rate('completed_with_electronic_result', 'completed') }} as electronic_result_rate
from final
