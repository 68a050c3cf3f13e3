"""The vendor port catalogue: model, loader and views."""

from seawall.catalog.load import Catalog, default_catalog_dir, load_catalog
from seawall.catalog.model import Entry, Peer, PortRange, ProductCatalog, Service, Text

__all__ = [
    "Catalog",
    "Entry",
    "Peer",
    "PortRange",
    "ProductCatalog",
    "Service",
    "Text",
    "default_catalog_dir",
    "load_catalog",
]
