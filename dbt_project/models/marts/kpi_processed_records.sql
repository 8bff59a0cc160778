{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['period', 'period_start'],
        on_schema_change='fail',
        post_hook="{{ record_build(ref('int_kpi_periods')) }}",
    )
}}
-- Processed records (Decision 766/QĐ-TTg, group 2: handling progress), per agency and period.
-- Incremental: the periods int_kpi_periods rebuilt since this table's last build, whole.
select
    {{ kpi_key_columns() | join(', ') }},
    received_total,
    received_in_person,
    received_online,
    received_by_post,
    carried_over,
    completed,
    completed_on_time,
    completed - completed_on_time as completed_late,
    refused,
    withdrawn,
    stopped,
    pending_within_deadline,
    pending_overdue,
    completed_on_time + pending_within_deadline as on_time_numerator,
    completed + pending_within_deadline + pending_overdue as on_time_denominator,
    {{ safe_rate('completed_on_time + pending_within_deadline',
                 'completed + pending_within_deadline + pending_overdue') }} as on_time_rate,
    handling_working_days_total,
    {{ safe_rate('handling_working_days_total', 'completed') }} as mean_handling_working_days
from {{ ref('int_kpi_periods') }}
where {{ in_rebuilt_periods(ref('int_kpi_periods')) }}
