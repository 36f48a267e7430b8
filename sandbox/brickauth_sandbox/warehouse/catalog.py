"""Unity Catalog metadata the engine keeps beside DuckDB's data: owners, comments, properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RelationType = Literal["MANAGED", "VIEW"]

DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "default"
BASELINE_CATALOGS = ("main", "hive_metastore")
SYSTEM_OWNER = "System user"

# Delta's defaults, as SHOW TBLPROPERTIES lists them for a new managed table.
DELTA_DEFAULT_PROPERTIES = {
    "delta.enableDeletionVectors": "true",
    "delta.feature.deletionVectors": "supported",
    "delta.minReaderVersion": "3",
    "delta.minWriterVersion": "7",
}


@dataclass
class CatalogInfo:
    name: str
    owner: str
    created_at: float
    comment: str | None = None


@dataclass
class SchemaInfo:
    catalog: str
    name: str
    owner: str
    created_at: float
    created_by: str
    comment: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class RelationInfo:
    catalog: str
    schema: str
    name: str
    type: RelationType
    owner: str
    created_at: float
    created_by: str
    last_altered_at: float
    last_altered_by: str
    provider: str | None = "delta"
    comment: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    column_comments: dict[str, str] = field(default_factory=dict)
    view_text: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.name}"

    @property
    def kind_title(self) -> str:
        """How Unity Catalog names the securable in messages: ``Table`` or ``View``."""
        return "View" if self.type == "VIEW" else "Table"


@dataclass
class Metastore:
    """All Unity Catalog objects by name (lower case). Guarded by the engine's lock."""

    catalogs: dict[str, CatalogInfo] = field(default_factory=dict)
    schemas: dict[tuple[str, str], SchemaInfo] = field(default_factory=dict)
    relations: dict[tuple[str, str, str], RelationInfo] = field(default_factory=dict)

    def relations_in(self, catalog: str, schema: str) -> list[RelationInfo]:
        return sorted(
            (r for (c, s, _), r in self.relations.items() if c == catalog and s == schema),
            key=lambda r: r.name,
        )

    def schemas_in(self, catalog: str) -> list[SchemaInfo]:
        return sorted((s for (c, _), s in self.schemas.items() if c == catalog), key=lambda s: s.name)
