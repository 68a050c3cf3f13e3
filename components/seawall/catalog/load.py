"""Loading catalogue files into a validated :class:`Catalog`.

Errors are one line, ``file:line: where: what is wrong; valid: ...``, raised as
:class:`~seawall.errors.CatalogError`. The loader checks, beyond the model's own
validation, everything that spans entries or files: references to hosts,
features, services and site peers; ids unique across all products; declared
services actually used; the product name matching the file name.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from seawall.catalog.model import Document, Entry, Peer, ProductCatalog
from seawall.errors import CatalogError
from seawall.records import Invalid, is_record, keys, optional_of, parse
from seawall.yamlsource import Loc, YamlDocument, display_path, read_yaml

ProgressCallback = Callable[[str, int, int], None]
"""``progress(what, done, total)``: long work reports as it goes; ``done == total`` when a step ends.

The library never draws anything: a command passes a callback that draws a bar on a
terminal and passes none when its output is piped.
"""


def default_catalog_dir() -> Path:
    """The catalogue shipped with the library (``catalog/`` in a checkout)."""
    # The package's directory, found by the import system: importlib.resources would cost every plan 4 ms
    # of imports (tempfile, zipfile) for a path it then reads from the file system anyway.
    return Path(next(iter(import_module("seawall.vendors").__path__)))


@dataclass(frozen=True)
class Citation:
    """An entry that cites a row of another product's document (a carried-over row)."""

    product: str  # the entry's own product
    entry: str  # its id
    cited: str  # the product whose document holds the row


@dataclass(frozen=True)
class Catalog:
    """All product catalogues, validated and cross-checked."""

    products: dict[str, ProductCatalog]
    paths: dict[str, str] = field(default_factory=dict)
    # Carried-over rows whose document is not in this catalogue (a directory holding one product):
    # the entry keeps its citation, and every view that shows the source must say the document is absent.
    unloaded_citations: tuple[Citation, ...] = ()

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

    def source_document(self, product: ProductCatalog, entry: Entry) -> Document | None:
        """The document holding ``entry``'s row; None for a carried-over row whose product is not loaded."""
        cited = entry.source.product
        if cited is None:
            return product.document
        return self.products[cited].document if cited in self.products else None

    def source_note(self, product: ProductCatalog, entry: Entry) -> str | None:
        """One sentence for a view to print where a carried-over row's document is not loaded; else None."""
        cited = entry.source.product
        if cited is None or cited in self.products:
            return None
        return (
            f"{entry.id} carries over a row of the {cited} document, which this catalogue does not load "
            f"({self.paths.get(product.product, product.product)} cites it; add {cited}.yaml to show the document)"
        )


_LOADED: dict[tuple[tuple[str, int, int], ...], Catalog] = {}


def load_catalog(directory: Path | None = None, progress: ProgressCallback | None = None) -> Catalog:
    """Load every ``*.yaml`` product file of ``directory`` (default: the shipped catalogue).

    A catalogue is immutable once loaded, so loads are remembered per file
    (path, size, modification time): the stack program and the plan around it
    share one parse. ``progress`` is told the bytes read and checked, as
    ``("loading catalogue", done, total)``.
    """
    root = directory if directory is not None else default_catalog_dir()
    if not root.is_dir():
        raise CatalogError(str(root), "catalogue directory not found; valid: a directory of <product>.yaml files")
    found = _catalog_files(root)
    if not found:
        raise CatalogError(str(root), "no catalogue files (*.yaml) in this directory")
    identity = tuple((str(p.resolve()), st.st_size, st.st_mtime_ns) for p, st in found)
    if identity in _LOADED:
        return _LOADED[identity]
    with _collector_paused():
        catalog = _load([(p, st.st_size) for p, st in found], progress)
    _LOADED.clear()  # one catalogue at a time is what programs use; keep memory flat
    _LOADED[identity] = catalog
    return catalog


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a catalogue is built.

    Loading allocates hundreds of thousands of containers and frees almost none, so
    the collector runs over and over and finds nothing: measured (bench/scale), a
    20,000-entry load took 1.65x as long with it running. Nothing loaded here forms a
    cycle that must be freed early; the collector resumes, as it was, when the load
    ends or fails.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _catalog_files(root: Path) -> list[tuple[Path, os.stat_result]]:
    """Every ``*.yaml`` of ``root`` with its status, sorted by name; one that cannot be a catalogue file is an error.

    A directory named ``x.yaml`` or a symbolic link that leads nowhere would otherwise be
    skipped without a word, and a product the user meant to load would be missing.
    """
    out = []
    for path in sorted(root.glob("*.yaml")):
        shown = display_path(path) if not path.is_symlink() else str(path)
        try:
            info = path.stat()
        except OSError as exc:
            if path.is_symlink():
                what = "a symbolic link loop" if exc.errno == errno.ELOOP else "a symbolic link to nothing"
                target = os.readlink(path)
                raise CatalogError(
                    shown, f"{what} (-> {target}); valid: a <product>.yaml file, or a link to one"
                ) from None
            raise CatalogError(
                shown, f"cannot read: {exc.strerror or exc}; valid: a readable <product>.yaml file"
            ) from None
        if stat.S_ISDIR(info.st_mode):
            raise CatalogError(
                shown, "a directory, not a catalogue file; valid: a <product>.yaml file (rename or move the directory)"
            )
        if not stat.S_ISREG(info.st_mode):
            raise CatalogError(shown, "not a regular file; valid: a <product>.yaml file")
        out.append((path, info))
    return out


def _load(files_: list[tuple[Path, int]], progress: ProgressCallback | None) -> Catalog:
    products: dict[str, ProductCatalog] = {}
    paths: dict[str, str] = {}
    seen_ids: dict[str, tuple[YamlDocument, int]] = {}  # positions are looked up only for an error
    done, total = 0, sum(size for _, size in files_)
    for path, size in files_:
        tick = None if progress is None else _reading_progress(progress, done, size, total)
        doc = read_yaml(path, display_path(path), CatalogError, progress=tick)
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
        done += size
        if progress is not None:
            progress("loading catalogue", done, total)
    unloaded = tuple(
        Citation(name, entry.id, entry.source.product)
        for name, product in products.items()
        for entry in product.entries
        if entry.source.product is not None and entry.source.product not in products
    )
    return Catalog(products=products, paths=paths, unloaded_citations=unloaded)


def _reading_progress(progress: ProgressCallback, base: int, size: int, total: int) -> Callable[[int], None]:
    def tick(chars: int) -> None:
        progress("loading catalogue", base + min(chars, size) * 3 // 4, total)  # reading is ~3/4 of a load

    return tick


def _validate(doc: YamlDocument) -> ProductCatalog:
    try:
        return _model(doc)
    except (Invalid, CatalogError) as exc:
        if doc.positions is None:
            # A file the fast reader could not read alone was read by the round-trip parser:
            # it decides again, with its own lines.
            return _validate_exact(doc.exact())
        # The fast reading knows every line: the error is positioned from it, with no second parse
        # (a round-trip parse of a 20,000-entry file took 40 s to find one line) and no second validation.
        if isinstance(exc, CatalogError):
            raise
        raise _first_error(doc, exc) from None


def _validate_exact(exact: YamlDocument) -> ProductCatalog:
    if not isinstance(exact.data, dict):
        raise CatalogError(
            f"{exact.path}:1", "a catalogue file must be a mapping with product, document, hosts, entries"
        )
    try:
        return parse(ProductCatalog, exact.data)
    except Invalid as exc:
        raise _first_error(exact, exc) from None


def _first_error(doc: YamlDocument, exc: Invalid) -> CatalogError:
    first = min(exc.errors(), key=lambda e: doc.line_of(e["loc"]))
    loc = first["loc"]
    return CatalogError(doc.where(loc), f"{_describe_loc(doc.data, loc)}: {_explain(first)}")


def _model(doc: YamlDocument) -> ProductCatalog:
    if not isinstance(doc.data, dict):
        raise CatalogError(f"{doc.path}:1", "a catalogue file must be a mapping with product, document, hosts, entries")
    return parse(ProductCatalog, doc.data)


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


# --- turning validation problems into one readable line ---------------------------------


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
    """The keys a record accepts at ``loc`` (walking ProductCatalog's annotations)."""
    model: Any = ProductCatalog
    for key in loc:
        model = optional_of(model) or model
        origin = typing.get_origin(model)
        if origin in (tuple, list, dict):
            args = typing.get_args(model)
            model = args[-1] if origin is dict else args[0]
        elif is_record(model) and isinstance(key, str) and key in keys(model):
            model = keys(model)[key].annotation
        else:
            return []
    model = optional_of(model) or model
    if model is Peer:
        return ["service", "site", "host", "features"]
    return sorted(keys(model)) if is_record(model) else []
