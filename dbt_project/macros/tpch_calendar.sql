{#-
    A TPC-H date moved into the platform's calendar.

    The TPC-H queries name fixed dates (Q1's 1998-12-01, Q5's 1994). TPC-H's orders start on
    1992-01-01; the platform's business dates start on PLATFORM_PARTITIONS_START (default the same
    day). The demo lands TPC-H shifted so that its newest order is yesterday, and starts its
    partitions at its first order date, so a report's date moves with the data by the same number
    of days: `tpch_date('1994-01-01')` is that day on unshifted data, and the same day of the
    shifted calendar otherwise.
-#}

{% macro tpch_date(iso_date) %}
    {%- set first = env_var('PLATFORM_PARTITIONS_START', '') or '1992-01-01' -%}
    {%- set shift = (
        modules.datetime.date.fromisoformat(first) - modules.datetime.date(1992, 1, 1)
    ).days -%}
    (date '{{ iso_date }}' + interval '{{ shift }}' day)
{%- endmacro %}
