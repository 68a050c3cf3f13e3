"""Deployment topologies: roles, the product host each role runs, and how
``{host: X}`` peers of catalogue entries bind to roles.

Topologies ship as data with the library (``seawall/topologies/*.yaml``); a
loaded topology is checked against the catalogue (hosts, entry ids, products).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from seawall.catalog.load import Catalog
from seawall.catalog.model import SLUG, Entry
from seawall.errors import TopologyError
from seawall.records import Invalid, Meta, parse, record
from seawall.yamlsource import read_yaml


@record()
@dataclass(frozen=True, kw_only=True)
class Role:
    """A role of the topology: which product host it runs and which of that host's entries."""

    host: str
    required: bool = True
    description: str
    products: Annotated[tuple[str, ...], Meta(description="Only with these products (empty: all).")] = ()
    include: Annotated[tuple[str, ...], Meta(description="Only these entry ids of the host.")] = ()
    exclude: Annotated[tuple[str, ...], Meta(description="All entries of the host but these.")] = ()

    def _after(self) -> None:
        if self.include and self.exclude:
            raise ValueError("a role takes include or exclude, not both")

    def runs(self, entry: Entry) -> bool:
        if entry.host != self.host:
            return False
        if self.include:
            return entry.id in self.include
        return entry.id not in self.exclude


@record()
@dataclass(frozen=True, kw_only=True)
class Topology:
    topology: Annotated[str, Meta(pattern=SLUG)]
    description: str
    products: Annotated[tuple[str, ...], Meta(min_length=1)]
    roles: Annotated[dict[str, Role], Meta(min_length=1)]
    host_peers: dict[str, dict[str, tuple[str, ...]]]
    notes: tuple[str, ...] = ()

    def roles_for(self, product: str, requested: tuple[str, ...] | None) -> tuple[str, ...]:
        """The roles a stack has: the required ones plus the optional ones it asks for."""
        chosen = [
            name
            for name, role in self.roles.items()
            if (role.required or (requested is not None and name in requested))
            and (not role.products or product in role.products)
        ]
        return tuple(sorted(chosen))

    def peer_roles(self, role: str, host: str, present: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(r for r in self.host_peers.get(role, {}).get(host, ()) if r in present)


def topology_dir() -> Path:
    return Path(__file__).resolve().parent / "topologies"


def available_topologies() -> list[str]:
    return sorted(p.stem for p in topology_dir().glob("*.yaml"))


def load_topology(name: str, catalog: Catalog, directory: Path | None = None) -> Topology:
    root = directory or topology_dir()
    path = root / f"{name}.yaml"
    if not path.is_file():
        valid = ", ".join(sorted(p.stem for p in root.glob("*.yaml")))
        raise TopologyError("", f"unknown topology {name!r}; valid: {valid}")
    doc = read_yaml(path, str(path), TopologyError)
    try:
        topology = parse(Topology, doc.data)
    except Invalid as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        raise TopologyError(doc.where(loc), f"{'.'.join(map(str, loc))}: {first['msg']}") from None
    # A catalogue directory may hold only some of a topology's products (a user's one-product catalogue):
    # what is loaded is checked; a stack that picks a product the catalogue lacks is refused when it compiles.
    loaded = [p for p in topology.products if p in catalog.products]
    if not loaded:
        raise TopologyError(
            doc.where(["products"]),
            f"none of the topology's products is in the catalogue ({', '.join(topology.products)}); "
            f"valid: a catalogue holding one of them (it holds {', '.join(sorted(catalog.products))})",
        )
    for role_name, role in topology.roles.items():
        drawn = role.products or topology.products
        if not any(p in catalog.products for p in drawn):
            continue  # a role of products this catalogue does not hold (exchange: clearswift-sxg only)
        hosts = {h for p in loaded for h in catalog.products[p].hosts}
        if role.host not in hosts:
            raise TopologyError(doc.where(["roles", role_name, "host"]), f"unknown host {role.host!r}")
        ids = {e.id for p in loaded for e in catalog.products[p].entries}
        complete = all(p in catalog.products for p in drawn)  # an id of a product not loaded cannot be checked
        for entry_id in (*role.include, *role.exclude):
            if entry_id not in ids and complete:
                raise TopologyError(doc.where(["roles", role_name]), f"unknown entry id {entry_id!r}")
    for role_name, peers in topology.host_peers.items():
        for host, roles in peers.items():
            for target in (role_name, *roles):
                if target not in topology.roles:
                    raise TopologyError(doc.where(["host_peers", role_name, host]), f"unknown role {target!r}")
    return topology
