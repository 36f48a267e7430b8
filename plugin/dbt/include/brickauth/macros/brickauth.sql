{# Intentionally empty: `type: brickauth` profiles run dbt-databricks' own macros (target.type is databricks). #}
