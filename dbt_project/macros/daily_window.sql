{#-
    The order-date window of a daily-partitioned model.

    Daily models are rebuilt one window at a time: the vars `min_date` and `max_date` (ISO dates,
    `max_date` exclusive) select the order dates [min_date, max_date). Without them, or on a full
    refresh, the window is every date. Incremental runs first delete their window from the table
    (`delete_daily_window` as a pre_hook), then append what the model computes for it, so a day
    whose orders all disappeared ends up with no rows.
-#}

{% macro daily_window() %}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- set min_date = none if min_date in (none, '') else min_date | string -%}
    {%- set max_date = none if max_date in (none, '') else max_date | string -%}
    {%- if (min_date is none) != (max_date is none) -%}
        {{ exceptions.raise_compiler_error(
            "vars min_date and max_date must be given together, got min_date=" ~ min_date
            ~ " and max_date=" ~ max_date) }}
    {%- endif -%}
    {%- if min_date is none or should_full_refresh() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for value in (min_date, max_date) -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
            {{ exceptions.raise_compiler_error(
                "vars min_date and max_date must be ISO dates (YYYY-MM-DD), got " ~ value) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if min_date >= max_date -%}
        {{ exceptions.raise_compiler_error(
            "var min_date (" ~ min_date ~ ") must be before max_date (" ~ max_date ~ ")") }}
    {%- endif -%}
    {{ return({'min_date': min_date, 'max_date': max_date}) }}
{% endmacro %}


{#- A predicate on `column` (a DATE) selecting the window; `true` when the window is every date. -#}
{% macro daily_window_filter(column) %}
    {%- set window = daily_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {{ column }} >= date '{{ window.min_date }}' and {{ column }} < date '{{ window.max_date }}'
    {%- endif -%}
{% endmacro %}


{#-
    pre_hook of a daily incremental model: on an incremental run, delete the rows of the window
    (every row when the window is every date) before the window is appended again.
-#}
{% macro delete_daily_window(column) %}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ daily_window_filter(column) }}
    {%- endif -%}
{% endmacro %}
