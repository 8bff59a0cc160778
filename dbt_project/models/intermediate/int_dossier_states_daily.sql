-- The state of every open dossier at the end of each reported agency-day, plus the dossiers
-- that closed on that day. A dossier's state at the end of day D is its last version updated
-- before D + 1; versions are valid from updated_at until the next version supersedes them.
with versions as (
    select
        *,
        lead(updated_at) over (
            partition by agency_code, dossier_code order by updated_at
        ) as superseded_at,
        coalesce(extended_due_at, due_at) as effective_due_at,
        status in (3, 7, 8, 9, 10) as is_closed
    from {{ ref('stg_dossier_versions') }}
),

closing as (
    select
        *,
        case when is_closed then coalesce(ended_at, updated_at) end as closed_at
    from versions
),

grid as (
    select
        agency_code,
        day,
        day + interval 1 day as day_end
    from {{ ref('stg_validated_partitions') }}
),

final as (
    select
        grid.agency_code,
        grid.day,
        closing.dossier_code,
        closing.procedure_code,
        closing.updated_at,
        closing.accepted_at,
        closing.effective_due_at,
        closing.closed_at,
        closing.is_closed,
        closing.status,
        closing.channel,
        closing.fee_amount_vnd,
        closing.online_payment,
        closing.has_electronic_result,
        closing.supplement_count
    from grid
    inner join closing
        on closing.agency_code = grid.agency_code
        and closing.updated_at < grid.day_end
        and (closing.superseded_at is null or closing.superseded_at >= grid.day_end)
    where not (closing.is_closed and closing.closed_at < grid.day)
)

select * from final
