{#- Where the pipeline lands Parquet: the data directory (EGOV_DATA_DIR) is the only setting. -#}
{% macro landed_path(relative) -%}
{{ env_var('EGOV_DATA_DIR', '../data') }}/{{ relative }}
{%- endmacro %}
