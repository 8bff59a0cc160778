{{ config(materialized="view") }}
-- Dossier versions with what every daily state needs derived once: the due date in force
-- (extended after a supplement) and when handling ended, if it has.
with versions as (
    select * from {{ ref('stg_dossier_versions') }}
),

final as (
    select
        agency_code,
        day,
        dossier_code,
        procedure_code,
        updated_at,
        accepted_at,
        coalesce(extended_due_at, due_at) as effective_due_at,
        case when status in (3, 7, 8, 9, 10) then coalesce(ended_at, updated_at) end as closed_at,
        status in (3, 7, 8, 9, 10) as is_closed,
        status,
        channel,
        fee_amount_vnd,
        online_payment,
        has_electronic_result,
        supplement_count
    from versions
)

select * from final
