{#- The agency-days an incremental run of int_dossier_states_daily must (re)build: from each
    agency's first validated day that is new or whose landed file changed (content_sha256),
    up to its last day, because a dossier's state on a day depends on every earlier version. -#}
{% macro restated_days(this_relation) -%}
    with built as (
        select distinct agency_code, day, content_sha256 from {{ this_relation }}
    ),
    changed as (
        select grid.agency_code, min(grid.day) as from_day
        from {{ ref('stg_validated_partitions') }} as grid
        left join built
            on built.agency_code = grid.agency_code
            and built.day = grid.day
            and built.content_sha256 = grid.content_sha256
        where built.day is null
        group by grid.agency_code
    )
    select agency_code, from_day from changed
{%- endmacro %}

{#- Pre-hook: drop the rows the run rebuilds, so a restated day never keeps stale rows. -#}
{% macro delete_restated_days() -%}
    {% if is_incremental() %}
        delete from {{ this }} as target
        using ({{ restated_days(this) }}) as restated
        where target.agency_code = restated.agency_code and target.day >= restated.from_day
    {% else %}
        select 1
    {% endif %}
{%- endmacro %}
