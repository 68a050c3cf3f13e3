"""Ways to show the catalogue: JSON for scripts, Markdown for the reference page,
rich tables for the terminal. All output is deterministic (catalogue order)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from seawall.catalog.load import Catalog
from seawall.catalog.model import Entry, Language, Peer, ProductCatalog, Service
from seawall.netaddr import sort_networks
from seawall.report.markdown import cell as _cell


def _one_or_many(items: list[str]) -> str | list[str]:
    return items[0] if len(items) == 1 else items


def peer_text(peer: Peer) -> str:
    text = peer.label()
    return f"{text} (if {', '.join(peer.features)})" if peer.features else text


def entry_json(product: ProductCatalog, entry: Entry, source_product: ProductCatalog | None = None) -> dict[str, Any]:
    """One entry as the ``seawall catalog --format json`` contract describes it."""
    # A carried-over row cites another product's document; when that product is not loaded its document is
    # unknown here (null), never this product's document in its place.
    doc = source_product.document if source_product else product.document if entry.source.product is None else None
    services = [(p.name, product.services[p.name]) for p in entry.peer if p.kind == "service" and p.name]
    return {
        "id": entry.id,
        "product": product.product,
        "host": entry.host,
        "direction": entry.direction,
        "initiator": entry.opener,
        "protocol": _one_or_many(list(entry.protocol)),
        "ports": [r.to_json() for r in entry.ports],
        "peer": _one_or_many([p.label() for p in entry.peer]),
        "peers": [{"kind": p.kind, "name": p.name, "features": list(p.features)} for p in entry.peer],
        "scope": entry.scope,
        "features": list(entry.features),
        "purpose": {"en": entry.purpose.en, "ja": entry.purpose.ja},
        "notes": entry.notes,
        "not_rendered": entry.not_rendered,
        "source": {
            "product": entry.source.product or product.product,
            "document": doc.title if doc else None,
            "product_name": doc.product_name if doc else None,
            "version": doc.version if doc else None,
            "issue": doc.issue if doc else None,
            "date": doc.date if doc else None,
            "seed": doc.seed if doc else None,
            "section": entry.source.section,
            "row": " ".join(entry.source.row.split()),
        },
        "services": [_service_json(name, svc) for name, svc in services],
        "hostnames": [h for _, svc in services for h in svc.hostnames],
        "addresses": [a for _, svc in services for a in svc.addresses],
        "retired_addresses": list(sort_networks({a for _, svc in services for a in svc.retired_addresses})),
    }


def _service_json(name: str, svc: Service) -> dict[str, Any]:
    return {
        "name": name,
        "hostnames": list(svc.hostnames),
        "addresses": list(svc.addresses),
        "retired_addresses": list(svc.retired_addresses),
        "address_feed": svc.address_feed,
        "no_host_documented": svc.no_host_documented,
    }


def catalog_json(catalog: Catalog, products: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in products:
        product = catalog.products[name]
        for entry in product.entries:
            source_product = catalog.products.get(entry.source.product) if entry.source.product else None
            out.append(entry_json(product, entry, source_product))
    return out


def ports_text(entry: Entry) -> str:
    return ", ".join(str(r) for r in entry.ports)


def protocol_text(entry: Entry) -> str:
    return "/".join(entry.protocol)


def catalog_tables(catalog: Catalog, products: list[str], lang: Language) -> list[Table]:
    tables = []
    for name in products:
        product = catalog.products[name]
        doc = product.document
        title = f"{name} — {product_title(product)}"
        caption = f"{doc.title} ({_edition(product)})"
        notes = [note for entry in product.entries if (note := catalog.source_note(product, entry))]
        table = Table(title=title, caption="\n".join([caption, *notes]), show_lines=False)
        for column in ("id", "ports", "proto", "dir", "peer", "scope", "features", "purpose"):
            table.add_column(column, overflow="fold")
        for entry in product.entries:
            purpose = entry.purpose.get(lang)
            if entry.not_rendered:
                purpose += " [never rendered]"
            table.add_row(
                entry.id,
                ports_text(entry),
                protocol_text(entry),
                entry.direction,
                "\n".join(peer_text(p) for p in entry.peer),
                entry.scope,
                ", ".join(entry.features) or "—",
                purpose,
            )
        tables.append(table)
    return tables


def product_title(product: ProductCatalog) -> str:
    doc = product.document
    if doc.version and doc.version not in doc.product_name:
        return f"{doc.product_name} {doc.version}"
    return doc.product_name


def _edition(product: ProductCatalog) -> str:
    doc = product.document
    parts = [f"issue {doc.issue}" if doc.issue else "", doc.date or "", doc.language]
    return ", ".join(p for p in parts if p)


def catalog_markdown(catalog: Catalog, products: list[str], lang: Language) -> str:
    """The reference page (docs/catalog.md is generated from this)."""
    lines = [
        "# seawall vendor port catalogue",
        "",
        "Generated by `seawall catalog --format markdown`; do not edit by hand.",
        "Every row of the vendor documents is an entry; notes record interpretations.",
        "",
    ]
    for name in products:
        product = catalog.products[name]
        doc = product.document
        lines += [
            f"## {name}: {product_title(product)}",
            "",
            f"Source: *{_cell(doc.title)}* ({_edition(product)}; seed `{doc.seed}`).",
            "",
        ]
        if doc.notes:
            lines += [_cell(doc.notes), ""]
        lines += [
            "| id | ports | protocol | direction | peer | scope | features | purpose |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for entry in product.entries:
            purpose = entry.purpose.get(lang) + (" *(never rendered)*" if entry.not_rendered else "")
            peers = "<br>".join(_cell(peer_text(p)) for p in entry.peer)
            lines.append(
                f"| `{entry.id}` | {ports_text(entry)} | {protocol_text(entry)} | {entry.direction} | {peers} "
                f"| {entry.scope} | {', '.join(entry.features) or '—'} | {_cell(purpose)} |"
            )
        lines.append("")
        if product.services:
            lines += ["### Vendor services", "", "| service | hostnames | documented addresses | retired | notes |"]
            lines.append("|---|---|---|---|---|")
            for svc_name, svc in product.services.items():
                hosts = "*no host documented*" if svc.no_host_documented else "<br>".join(svc.hostnames) or "—"
                addrs = "<br>".join(svc.addresses) or ("*AWS ip-ranges.json*" if svc.address_feed else "—")
                lines.append(
                    f"| `{svc_name}` | {hosts} | {addrs} | {'<br>'.join(svc.retired_addresses) or '—'} "
                    f"| {_cell(svc.notes or '')} |"
                )
            lines.append("")
        if product.message_paths:
            lines += ["### Message paths", ""]
            for path in product.message_paths:
                hops = " → ".join(hop.name.get(lang) + (f":{hop.port}" if hop.port else "") for hop in path.hops)
                lines.append(f"- **{_cell(path.when.get(lang))}**: {_cell(hops)}")
            lines += ["", "Only the first hop (port 25) crosses a firewall; the rest stays on the device.", ""]
        noted = [e for e in product.entries if e.notes or e.not_rendered]
        if noted:
            lines += ["### Notes and interpretations", ""]
            for entry in noted:
                text = " ".join(
                    t for t in (entry.not_rendered and f"Never rendered: {entry.not_rendered}", entry.notes) if t
                )
                lines.append(f"- `{entry.id}`: {_cell(text)}")
            lines.append("")
        lines += ["### Sources (rows as written)", ""]
        for entry in product.entries:
            cited = entry.source.product
            where = _cell(entry.source.section)
            if cited is not None and cited not in catalog.products:
                where += f" (the {cited} document, not in this catalogue)"
            lines.append(f"- `{entry.id}` — {where}: “{_cell(entry.source.row)}”")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
