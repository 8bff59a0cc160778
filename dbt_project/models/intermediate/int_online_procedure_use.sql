-- Which procedures received at least one online dossier (accepted) on each agency-day.
select distinct agency_code, day, procedure_code
from {{ ref('int_dossier_states_daily') }}
where channel = 2
    and accepted_at >= day
    and accepted_at < day + interval 1 day
