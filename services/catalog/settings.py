"""The catalog's settings (``CINEMA_*``): the source of truth, the search index, the cache.

The ETL reads the same section: it writes where the catalog reads."""

from __future__ import annotations

from pydantic import Field

from services.kit.config import Section


class CatalogSettings(Section):
    """Where the catalog's films live and how long a cached one is trusted."""

    catalog_dsn: str = Field("", description="Catalog source of truth; default sqlite.")
    search_dsn: str = Field("", description="Search index: http(s):// for Elasticsearch.")
    search_index_prefix: str = Field(
        "cinema_", description="Prefix of the Elasticsearch index names (films, genres, persons)."
    )
    cache_url: str = Field("memory://", description="Cache: memory:// (LRU) or redis://.")
    cache_ttl_seconds: float = Field(
        300.0, gt=0, description="How long a cached film is trusted (catalog read-through cache)."
    )
    demo_catalog: bool = Field(
        True, description="Load the bundled demo catalog on `cinema up` when the catalog is empty."
    )
