"""Run in a child process: load a profile through dbt and call dbt-databricks' REST client.

``python rest_probe.py PROFILES_DIR`` prints ``REST_USER=<userName>`` from ``/api/2.0/preview/scim/v2/Me``,
fetched by ``DatabricksConnectionManager.api_client`` exactly as dbt-databricks builds it on the installed
line (1.10: requests session with the manager's header factory; 1.11+: databricks-sdk WorkspaceClient).
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from multiprocessing import get_context


def main(profiles_dir: str) -> int:
    from dbt.adapters.databricks.__version__ import version
    from dbt.adapters.databricks.connections import DatabricksConnectionManager
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)
    set_from_args(Namespace(), {})
    profile = Profile.from_raw_profiles(read_profile(profiles_dir), "brickauth_sample", ProfileRenderer({}))
    manager = DatabricksConnectionManager(profile, get_context("spawn"))  # type: ignore[arg-type]
    print(f"DBT_DATABRICKS={version}")
    print(f"REST_USER={manager.api_client.curr_user.get_username()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
