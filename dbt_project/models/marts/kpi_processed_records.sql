{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Processed records (Decision 766/QĐ-TTg, group 2: handling progress), per agency and period.
-- Incremental: the periods from the one holding the earliest day restated since this table's
-- last build, whole (macros/incremental_builds.sql).
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
from {{ ref('int_kpi_periods') }} as periods
where {{ in_restated_range('periods') }}
