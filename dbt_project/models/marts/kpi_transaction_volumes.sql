{{
    config(
        materialized='incremental',
        incremental_strategy='restated_range',
        replaced='periods',
        on_schema_change='fail',
        post_hook="{{ record_build() }}",
    )
}}
-- Transaction volumes (766 items 3.3, 3.6, 4.1), per agency and period: channels of the
-- dossiers received; fees, online payments and electronic results of those completed.
-- Incremental: the periods from the one holding the earliest day restated since this table's
-- last build, whole (macros/incremental_builds.sql).
select
    {{ kpi_key_columns() | join(', ') }},
    received_total,
    received_in_person,
    received_online,
    received_by_post,
    {{ safe_rate('received_online', 'received_total') }} as online_dossier_rate,
    completed,
    completed_fee_bearing,
    completed_paid_online,
    amount_paid_online_vnd,
    {{ safe_rate('completed_paid_online', 'completed_fee_bearing') }} as online_payment_rate,
    completed_with_electronic_result,
    {{ safe_rate('completed_with_electronic_result', 'completed') }} as electronic_result_rate
from {{ ref('int_kpi_periods') }} as periods
where {{ in_restated_range('periods') }}
