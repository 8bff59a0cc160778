{#- A rate with no denominator is NULL, never 0 and never a division error (766 rule).
    Numerator and denominator may be expressions. -#}
{% macro safe_rate(numerator, denominator) -%}
case when ({{ denominator }}) = 0 then null else cast(({{ numerator }}) as double) / ({{ denominator }}) end
{%- endmacro %}
