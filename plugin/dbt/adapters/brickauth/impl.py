"""The adapter dbt-core's plugin loader asks for: never instantiated.

dbt-core checks that a plugin's adapter type equals the plugin's name, then registers the adapter
named by ``credentials.type`` (``databricks``). These classes exist only to pass that check.
"""

from __future__ import annotations

from dbt.adapters.databricks.connections import DatabricksConnectionManager
from dbt.adapters.databricks.impl import DatabricksAdapter


class BrickauthConnectionManager(DatabricksConnectionManager):
    TYPE: str = "brickauth"


class BrickauthAdapter(DatabricksAdapter):
    ConnectionManager = BrickauthConnectionManager
