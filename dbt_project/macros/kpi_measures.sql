{#- The KPI measures by how they add up over a period: flows are summed over its days; opening
    stocks are taken on its first reported day, closing stocks on its last; the catalogue is
    the one in force on its last reported day. One list, used by every model that rolls up. -#}
{% macro flow_measures() %}
    {{ return([
        'received_total', 'received_in_person', 'received_online', 'received_by_post',
        'completed', 'completed_on_time', 'refused', 'withdrawn', 'stopped',
        'handling_working_days_total', 'completed_fee_bearing', 'completed_paid_online',
        'amount_paid_online_vnd', 'completed_with_electronic_result',
    ]) }}
{% endmacro %}

{% macro opening_stock_measures() %}
    {{ return(['carried_over']) }}
{% endmacro %}

{% macro closing_stock_measures() %}
    {{ return(['pending_within_deadline', 'pending_overdue']) }}
{% endmacro %}

{% macro catalogue_measures() %}
    {{ return([
        'procedures_total', 'procedures_full_process', 'procedures_partial_online', 'procedures_online',
        'procedures_eligible_full_process', 'procedures_eligible_offered_full_process', 'procedures_online_used',
    ]) }}
{% endmacro %}

{% macro all_measures() %}
    {{ return(flow_measures() + opening_stock_measures() + closing_stock_measures() + catalogue_measures()) }}
{% endmacro %}

{#- The columns every published KPI row starts with: its key, then how complete it is. -#}
{% macro kpi_key_columns() %}
    {{ return(['period', 'period_start', 'period_end', 'geography', 'agency_code', 'agency_level', 'agency_days_reported',
               'agency_days_expected', 'period_complete', 'stocks_complete']) }}
{% endmacro %}

{#- `cast(sum(m) as bigint) as m` for every measure: rolling agencies up to a larger one. -#}
{% macro summed_measures() -%}
    {%- for column in all_measures() %}
    cast(sum({{ column }}) as bigint) as {{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
