"""Microsoft Entra ID constants for Azure Databricks: the resource, its scopes, the authority hosts.

The one home of these values; every flow, the doctor and the dbt plugin import them from here.
"""

from __future__ import annotations

# The Azure Databricks first-party application (the resource every Entra token for a workspace is for).
AZURE_DATABRICKS_RESOURCE_ID = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"
AZURE_DATABRICKS_SCOPE = f"{AZURE_DATABRICKS_RESOURCE_ID}/.default"  # app-only (client credentials)
AZURE_DATABRICKS_USER_SCOPE = f"{AZURE_DATABRICKS_RESOURCE_ID}/user_impersonation"  # delegated (U2M)
# Audiences Azure Databricks accepts in an Entra access token.
AZURE_DATABRICKS_AUDIENCES = frozenset({AZURE_DATABRICKS_RESOURCE_ID, f"api://{AZURE_DATABRICKS_RESOURCE_ID}"})

PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"
CHINA_AUTHORITY_HOST = "https://login.chinacloudapi.cn"
US_GOVERNMENT_AUTHORITY_HOST = "https://login.microsoftonline.us"
# Entra authority hosts msal knows (instance discovery works against them).
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.chinacloudapi.cn",
        "login.microsoftonline.us",
        "login-us.microsoftonline.com",
    }
)
