"""Every row of the three vendor documents is in the catalogue, cited as written."""

from __future__ import annotations

import ipaddress
import re

from conftest import normalise
from seawall.catalog import Catalog


def cited_rows(catalog: Catalog, product: str) -> list[str]:
    """Rows cited from ``product``'s document, by any catalogue (carried-over rows count)."""
    rows = []
    for owner, entry in catalog.entries():
        if (entry.source.product or owner.product) == product:
            rows.append(normalise(entry.source.row))
    rows += [normalise(p.source.row) for p in catalog.products[product].message_paths]
    return rows


def seg_rows(text: str) -> list[str]:
    """SEG 4.8: tab-separated rows 'Item<TAB>TCP|UDP|UDP/TCP<TAB>...'; the item and protocol identify it."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"^([^\t]+)\t(TCP|UDP|UDP/TCP)\t", line)
        if match and match.group(1) not in ("Item",):
            rows.append(normalise(f"{match.group(1)} {match.group(2)}"))
    return rows


def sxg_rows(text: str) -> list[str]:
    """SXG: lines 'PORT PROTO DIRECTION purpose'; a purpose printed on the next lines is part of the row."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    head = re.compile(r"^\d+\*? (FTPS \(explicit\)|FTPS|FTP|SFTP|UDP/TCP|TCP|UDP) (受信/送信|受信|送信)")
    rows = []
    for index, line in enumerate(lines):
        match = head.match(line)
        if not match:
            continue
        if line == match.group(0) and index + 1 < len(lines) and not re.match(r"^\d", lines[index + 1]):
            line = f"{line} {lines[index + 1]}"
        rows.append(normalise(line))
    return rows


def imss_rows(text: str) -> list[str]:
    return [normalise(line) for line in text.splitlines() if re.match(r"^\d+/(tcp|udp)", line)]


EXTRACT = {"clearswift-seg": seg_rows, "clearswift-sxg": sxg_rows, "trendmicro-imss": imss_rows}


# These two need no vendor document, so provenance is checked on every machine; the tests
# below that read the documents skip (saying where they looked) when they are absent.


def test_every_cited_row_names_a_port_its_entry_opens(catalog: Catalog) -> None:
    for _, entry in catalog.entries():
        numbers = {int(n) for n in re.findall(r"\d+", entry.source.row)}
        ports = {p for r in entry.ports for p in (r.first, r.last)}
        assert ports & numbers, f"{entry.id}: the cited row names none of ports {sorted(ports)}"


def test_the_row_extractors_read_each_documents_layout() -> None:
    # Synthetic lines in each document's layout (not vendor text).
    seg = "Item\tProtocol\tPort\nExample updates\tTCP\t80\thost.invalid\t192.0.2.1\nprose mentioning TCP 80\n"
    assert seg_rows(seg) == ["Example updates TCP"]
    sxg = "25 TCP 受信 例の目的。\n21 FTP 受信/送信\n次の行に続く目的\n見出し\n"
    assert sxg_rows(sxg) == ["25 TCP 受信 例の目的。", "21 FTP 受信/送信 次の行に続く目的"]
    assert imss_rows("ポート | 用途\n25/tcp | 例 |\n10025 は内部\n") == ["25/tcp | 例 |"]


def test_every_cited_row_is_written_in_its_document(catalog: Catalog, seeds: dict[str, str]) -> None:
    documents = {name: normalise(text) for name, text in seeds.items()}
    for owner, entry in catalog.entries():
        cited = entry.source.product or owner.product
        assert normalise(entry.source.row) in documents[cited], f"{entry.id}: row not found in {cited}'s document"


def test_every_row_of_every_port_table_has_an_entry(catalog: Catalog, seeds: dict[str, str]) -> None:
    expected = {"clearswift-seg": 20, "clearswift-sxg": 40, "trendmicro-imss": 26}
    for product, extract in EXTRACT.items():
        rows = extract(seeds[product])
        assert len(rows) == expected[product], f"{product}: the row extractor found {len(rows)} rows"
        cited = cited_rows(catalog, product)
        missing = [row for row in rows if not any(row in c for c in cited)]
        assert not missing, f"{product}: rows without an entry: {missing}"
        assert len(catalog.products[product].entries) >= len(rows)


def test_every_documented_hostname_belongs_to_a_vendor_service(catalog: Catalog, seeds: dict[str, str]) -> None:
    # ASCII look-arounds, not \b: Japanese text runs straight into hostnames ("およびbulkmail5...").
    host = re.compile(
        r"(?<![A-Za-z0-9.-])([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.(?:net|com|org|co\.uk))(?![A-Za-z0-9-])"
    )
    for product, text in seeds.items():
        documented = {h.lower() for h in host.findall(text)} - {"ip-ranges.amazonaws.com"}
        known = {h for svc in catalog.products[product].services.values() for h in svc.hostnames}
        assert documented <= known, f"{product}: hostnames not in any service: {sorted(documented - known)}"


def test_all_six_kav_update_hosts_of_the_exchange_gateway_document(catalog: Catalog) -> None:
    sxg = catalog.products["clearswift-sxg"]
    kav = {h for svc in sxg.services.values() for h in svc.hostnames if h.startswith("kav-update-8-")}
    assert kav == {f"kav-update-8-{n}.clearswift.net" for n in range(1, 7)}


def test_every_documented_address_is_kept_as_current_or_retired(catalog: Catalog, seeds: dict[str, str]) -> None:
    ip = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
    for product, text in seeds.items():
        documented = {a for a in ip.findall(text) if ipaddress.ip_address(a) != ipaddress.ip_address("8.8.8.8")}
        services = catalog.products[product].services.values()
        known = {a for svc in services for a in (*svc.addresses, *svc.retired_addresses)}
        assert documented <= known, f"{product}: addresses not in the catalogue: {sorted(documented - known)}"


def test_retired_av_addresses_are_flagged_and_not_current(catalog: Catalog) -> None:
    seg = catalog.products["clearswift-seg"]
    retired = {"184.72.245.1", "79.125.8.252", "175.41.136.7", "174.129.26.118", "176.34.251.142", "54.254.98.96"}
    for name in ("kav-update", "sav-update"):
        assert set(seg.services[name].retired_addresses) == retired
        assert not retired & set(seg.services[name].addresses)


def test_rows_that_name_no_host_say_so(catalog: Catalog) -> None:
    ksn = catalog.products["clearswift-seg"].services["ksn"]
    assert ksn.no_host_documented and not ksn.hostnames and not ksn.addresses


def test_the_imss_message_path_crosses_the_firewall_only_on_25(catalog: Catalog) -> None:
    imss = catalog.products["trendmicro-imss"]
    ports = {tuple(h.port for h in p.hops if h.port) for p in imss.message_paths}
    assert (25, 2500, 10025, 10026) in ports and (25, 10025, 10026) in ports
    exposed = {r.first for e in imss.entries if e.scope != "localhost" for r in e.ports}
    assert not exposed & {2500, 10024, 10025, 10026, 10039}


def test_japanese_sources_keep_the_original_purpose(catalog: Catalog) -> None:
    for name in ("clearswift-sxg", "trendmicro-imss"):
        product = catalog.products[name]
        assert product.document.language == "ja"
        with_ja = [e for e in product.entries if e.purpose.ja]
        assert len(with_ja) >= len(product.entries) - 2, f"{name}: entries lack the Japanese purpose"


def test_ids_carry_their_product_prefix(catalog: Catalog) -> None:
    prefix = {"clearswift-seg": "seg-", "clearswift-sxg": "sxg-", "trendmicro-imss": "imss-"}
    for product, entry in catalog.entries():
        assert entry.id.startswith(prefix[product.product]), entry.id


def quotations(catalog: Catalog) -> list[tuple[str, str, str]]:
    """Every `ja` text of the catalogue: (where, text, the product whose document it quotes)."""
    quoted = []
    for name, product in catalog.products.items():
        texts = [(f"hosts.{k}", v, name) for k, v in product.hosts.items()]
        texts += [(f"features.{k}", v, name) for k, v in product.features.items()]
        texts += [(f"services.{k}", v.purpose, name) for k, v in product.services.items()]
        texts += [(f"entries.{e.id}", e.purpose, e.source.product or name) for e in product.entries]
        texts += [
            (f"message_paths.{m.id}", t, name)
            for m in product.message_paths
            for t in (m.when, *(h.name for h in m.hops))
        ]
        quoted += [(f"{name}: {where}", t.ja, doc) for where, t, doc in texts if t.ja]
    return quoted


def test_every_japanese_text_is_a_byte_exact_quotation(catalog: Catalog, seeds: dict[str, str]) -> None:
    """Not "the same words, whitespace aside": the no-break space after PMM and a cell's line breaks included."""
    quoted = quotations(catalog)
    assert len(quoted) > 80
    inexact = [where for where, ja, doc in quoted if ja not in seeds[doc]]
    assert inexact == []


def test_a_quotation_printed_over_several_lines_says_so(catalog: Catalog) -> None:
    """A cell the document breaks over lines keeps its breaks, and its entry's notes say it spans them."""
    spanning = []
    for product in catalog.products.values():
        for entry in product.entries:
            if entry.purpose.ja and "\n" in entry.purpose.ja:
                lines = entry.purpose.ja.count("\n") + 1
                spanning.append(entry.id)
                assert f"prints this cell over {_number(lines)} lines" in " ".join((entry.notes or "").split()), (
                    entry.id
                )
    assert sorted(spanning) == [
        "sxg-applianceupdate",
        "sxg-av-updates",
        "sxg-peer-communications-outbound",
        "sxg-spam-rules",
    ]
    assert all(
        "\n" not in ja for where, ja, _ in quotations(catalog) if not where.split(": ")[1].startswith("entries.")
    )


def _number(n: int) -> str:
    return {3: "three", 7: "seven", 19: "nineteen"}.get(n, str(n))
