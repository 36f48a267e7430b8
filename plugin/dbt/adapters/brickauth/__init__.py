"""dbt adapter plugin: ``type: brickauth`` runs the unchanged Databricks adapter with brickauth auth.

See docs/dbt.md. Importing this module checks the installed dbt-databricks line and routes its
credentials manager to brickauth for brickauth profiles only (``compat.install``).
"""

from dbt.adapters.base.plugin import AdapterPlugin

from dbt.adapters.brickauth import compat
from dbt.adapters.brickauth.credentials import BrickauthCredentials, is_brickauth, make_manager

compat.install(make_manager, is_brickauth)
compat.install_reauth(is_brickauth)

from dbt.adapters.brickauth.impl import BrickauthAdapter  # noqa: E402
from dbt.include import brickauth  # noqa: E402

Plugin = AdapterPlugin(
    adapter=BrickauthAdapter,  # type: ignore[arg-type]
    credentials=BrickauthCredentials,
    include_path=brickauth.PACKAGE_PATH,
    dependencies=["databricks"],
)

__all__ = ["BrickauthCredentials", "Plugin"]
