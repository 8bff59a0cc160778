-- One row per dossier version (dossier_code, updated_at), as landed. Types pinned here, once.
-- A view: the dossier-interval table reads only the days it rebuilds (hive pruning on `day`),
-- and so do this view's data tests (macros/test_scope.sql), which need the grid built first:
-- depends_on: {{ ref('stg_validated_partitions') }}
with source as (
    select * from {{ source('landed', 'dossiers') }}
),

final as (
    select
        cast(agency_code as varchar) as agency_code,
        -- The partition folder's date: filtering on it skips whole files (hive pruning).
        "date" as day,
        cast(dossier_code as varchar) as dossier_code,
        cast(procedure_code as varchar) as procedure_code,
        cast(updated_at as timestamp) as updated_at,
        cast(submitted_at as timestamp) as submitted_at,
        cast(accepted_at as timestamp) as accepted_at,
        cast(due_at as timestamp) as due_at,
        cast(extended_due_at as timestamp) as extended_due_at,
        cast(ended_at as timestamp) as ended_at,
        cast(returned_at as timestamp) as returned_at,
        cast(status as integer) as status,
        cast(channel as integer) as channel,
        cast(applicant_type as varchar) as applicant_type,
        cast(applicant_id_hash as varchar) as applicant_id_hash,
        cast(fee_count as integer) as fee_count,
        cast(fee_amount_vnd as bigint) as fee_amount_vnd,
        cast(online_payment as integer) as online_payment,
        cast(result_document_count as integer) as result_document_count,
        cast(has_electronic_result as boolean) as has_electronic_result,
        cast(supplement_count as integer) as supplement_count
    from source
)

select * from final
