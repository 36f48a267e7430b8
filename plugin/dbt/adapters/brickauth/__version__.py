"""dbt reads the plugin version here; the one source is brickauth.__version__."""

from brickauth import __version__ as version

__all__ = ["version"]
