"""Loading catalogue files into a validated :class:`Catalog`.

Errors are one line, ``file:line: where: what is wrong; valid: ...``, raised as
:class:`~seawall.errors.CatalogError`. The loader checks, beyond the model's own
validation, everything that spans entries or files: references to hosts,
features, services and site peers; ids unique across all products; declared
services actually used; the product name matching the file name.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from seawall.catalog.model import Entry, Peer, ProductCatalog
from seawall.errors import CatalogError
from seawall.yamlsource import Loc, YamlDocument, display_path, read_yaml


def default_catalog_dir() -> Path:
    """The catalogue shipped with the library (``catalog/`` in a checkout)."""
    return Path(str(files("seawall.vendors")))


@dataclass(frozen=True)
class Catalog:
    """All product catalogues, validated and cross-checked."""

    products: dict[str, ProductCatalog]
    paths: dict[str, str] = field(default_factory=dict)

    def product(self, name: str) -> ProductCatalog:
        try:
            return self.products[name]
        except KeyError:
            valid = ", ".join(sorted(self.products))
            raise CatalogError("", f"unknown product {name!r}; valid: {valid}") from None

    def entries(self) -> Iterator[tuple[ProductCatalog, Entry]]:
        for name in sorted(self.products):
            product = self.products[name]
            for entry in product.entries:
                yield product, entry


_LOADED: dict[tuple[tuple[str, int, int], ...], Catalog] = {}


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load every ``*.yaml`` product file of ``directory`` (default: the shipped catalogue).

    A catalogue is immutable once loaded, so loads are remembered per file
    (path, size, modification time): the stack program and the plan around it
    share one parse.
    """
    root = directory if directory is not None else default_catalog_dir()
    if not root.is_dir():
        raise CatalogError(str(root), "catalogue directory not found; valid: a directory of <product>.yaml files")
    files_ = sorted(p for p in root.glob("*.yaml") if p.is_file())
    if not files_:
        raise CatalogError(str(root), "no catalogue files (*.yaml) in this directory")
    identity = tuple((str(p.resolve()), (st := p.stat()).st_size, st.st_mtime_ns) for p in files_)
    if identity in _LOADED:
        return _LOADED[identity]
    catalog = _load(root, files_)
    _LOADED.clear()  # one catalogue at a time is what programs use; keep memory flat
    _LOADED[identity] = catalog
    return catalog


def _load(root: Path, files_: list[Path]) -> Catalog:
    products: dict[str, ProductCatalog] = {}
    paths: dict[str, str] = {}
    seen_ids: dict[str, tuple[YamlDocument, int]] = {}  # positions are looked up only for an error
    docs: dict[str, YamlDocument] = {}
    for path in files_:
        doc = read_yaml(path, display_path(path), CatalogError)
        product = _validate(doc)
        if product.product != path.stem:
            raise CatalogError(
                doc.where(["product"]),
                f"product {product.product!r} does not match the file name; valid: {path.stem!r} "
                f"(or rename the file to {product.product}.yaml)",
            )
        _cross_check(doc, product)
        for index, entry in enumerate(product.entries):
            if entry.id in seen_ids:
                first_doc, first_index = seen_ids[entry.id]
                raise CatalogError(
                    doc.where(["entries", index, "id"]),
                    f"duplicate id {entry.id!r} (first used at {first_doc.where(['entries', first_index, 'id'])}); "
                    "ids must be unique across all products",
                )
            seen_ids[entry.id] = (doc, index)
        products[product.product] = product
        paths[product.product] = doc.path
        docs[product.product] = doc
    for name, product in products.items():
        for index, entry in enumerate(product.entries):
            cited = entry.source.product
            if cited is not None and cited not in products:
                raise CatalogError(
                    docs[name].where(["entries", index, "source", "product"]),
                    f"entry {entry.id}: source.product {cited!r} is not a loaded catalogue; "
                    f"valid: {', '.join(sorted(products))}",
                )
    return Catalog(products=products, paths=paths)


def _validate(doc: YamlDocument) -> ProductCatalog:
    try:
        return _model(doc)
    except (ValidationError, CatalogError):
        exact = doc.exact()  # the round-trip reading decides, and knows the lines
    if not isinstance(exact.data, dict):
        raise CatalogError(f"{doc.path}:1", "a catalogue file must be a mapping with product, document, hosts, entries")
    try:
        return ProductCatalog.model_validate(exact.data)
    except ValidationError as exc:
        first = min(exc.errors(), key=lambda e: exact.line_of(e["loc"]))
        loc = first["loc"]
        raise CatalogError(exact.where(loc), f"{_describe_loc(exact.data, loc)}: {_explain(first)}") from None


def _model(doc: YamlDocument) -> ProductCatalog:
    if not isinstance(doc.data, dict):
        raise CatalogError(f"{doc.path}:1", "not a mapping")
    return ProductCatalog.model_validate(doc.data)


def _cross_check(doc: YamlDocument, product: ProductCatalog) -> None:
    used_services: set[str] = set()
    for index, entry in enumerate(product.entries):
        here: list[str | int] = ["entries", index]
        label = f"entry {entry.id}"
        if entry.host not in product.hosts:
            _fail(doc, [*here, "host"], f"{label}: unknown host {entry.host!r}; valid: {_names(product.hosts)}")
        _check_features(doc, product, entry.features, [*here, "features"], label)
        for peer_index, peer in enumerate(entry.peer):
            peer_loc: list[str | int] = [*here, "peer"]
            if _is_list(doc, peer_loc):
                peer_loc.append(peer_index)
            _check_peer(doc, product, peer, peer_loc, label)
            _check_features(doc, product, peer.features, [*peer_loc, "features"], label)
            if peer.kind == "service" and peer.name is not None:
                used_services.add(peer.name)
    for index, path in enumerate(product.message_paths):
        _check_features(doc, product, path.features, ["message_paths", index, "features"], f"message path {path.id}")
    for name in product.services:
        if name not in used_services:
            _fail(doc, ["services", name], f"service {name!r} is declared but no entry uses it; remove it or use it")


def _check_peer(doc: YamlDocument, product: ProductCatalog, peer: Peer, loc: Loc, label: str) -> None:
    pools: dict[str, dict[str, Any]] = {
        "service": product.services,
        "site": product.site_peers,
        "host": product.hosts,
    }
    if peer.kind in pools and peer.name not in pools[peer.kind]:
        valid = _names(pools[peer.kind]) or "(none declared)"
        _fail(doc, loc, f"{label}: unknown {peer.kind} {peer.name!r}; valid: {valid}")


def _check_features(doc: YamlDocument, product: ProductCatalog, names: Sequence[str], loc: Loc, label: str) -> None:
    for index, name in enumerate(names):
        if name not in product.features:
            valid = _names(product.features) or "(none declared)"
            _fail(doc, [*loc, index], f"{label}: unknown feature {name!r}; valid: {valid}")


def _fail(doc: YamlDocument, loc: Loc, message: str) -> typing.NoReturn:
    raise CatalogError(doc.where(loc), message)


def _is_list(doc: YamlDocument, loc: Loc) -> bool:
    node: Any = doc.data
    for key in loc:
        node = node[key]
    return isinstance(node, list)


def _names(mapping: dict[str, Any]) -> str:
    return ", ".join(sorted(mapping))


# --- turning pydantic errors into one readable line ---------------------------------


def _describe_loc(data: Any, loc: Sequence[str | int]) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            if isinstance(node, list) and 0 <= key < len(node):
                item = node[key]
                ident = item.get("id") if isinstance(item, dict) else None
                parts[-1] = f"{parts[-1]}[{key}]" + (f" ({ident})" if ident else "")
                node = item
                continue
            parts.append(f"[{key}]")
            continue
        parts.append(key)
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "file"


def _explain(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        return f"unknown key {loc[-1]!r}" + (f"; valid: {', '.join(valid)}" if valid else "")
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "literal_error":
        return f"{value!r} is not valid; valid: {ctx.get('expected', '')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{value!r} is not a number; valid: an integer"
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not a valid id; valid: lower-case words joined by '-', e.g. seg-smtp-inbound"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("dict_type", "model_type"):
        return f"expected a mapping, got {type(value).__name__}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {type(value).__name__}"
    if kind == "string_type":
        return f"expected text, got {type(value).__name__}"
    return str(error["msg"])


def _valid_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys a model accepts at ``loc`` (walking ProductCatalog's annotations)."""
    model: Any = ProductCatalog
    for key in loc:
        model = _strip_optional(model)
        origin = typing.get_origin(model)
        if origin in (tuple, list, dict):
            args = typing.get_args(model)
            model = args[-1] if origin is dict else args[0]
        elif _is_model(model) and isinstance(key, str) and key in model.model_fields:
            model = model.model_fields[key].annotation
        else:
            return []
    model = _strip_optional(model)
    if model is Peer:
        return ["service", "site", "host", "features"]
    return sorted(model.model_fields) if _is_model(model) else []


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation
