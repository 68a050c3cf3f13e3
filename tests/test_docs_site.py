"""The documentation site: generated pages are current, the README stays short and true, and the built
site, looked at in headless Chromium, draws its diagrams with no console error and asks nothing of the
network but its own server.

The browser test leaves its screenshots in ``artifacts/site/`` (ignored by git; CI keeps the folder).
It skips only where Chromium is absent and this is not CI (``CI`` unset); in CI it must run.
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"
ARTIFACTS = REPO / "artifacts" / "site"


def gen_docs() -> ModuleType:
    loader = SourceFileLoader("gen_docs", str(REPO / "tools" / "gen-docs"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("gen_docs", loader))
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    pages: dict[Path, str] = gen_docs().pages()
    return pages


# --- generated pages ---------------------------------------------------------------------------------------------


def test_every_generated_page_is_current(generated: dict[Path, str]) -> None:
    stale = [
        str(path.relative_to(REPO))
        for path, text in generated.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"stale generated pages: {', '.join(stale)}; run .venv/bin/python tools/gen-docs"


def test_generated_folders_hold_only_what_the_generator_writes(generated: dict[Path, str]) -> None:
    """A stack removed from stacks/ takes its conformance report and its diagram with it."""
    for folder in (DOCS / "reference" / "conformance", DOCS / "reference" / "diagrams"):
        on_disk = set(folder.glob("*.md"))
        written = {path for path in generated if path.parent == folder}
        assert on_disk == written, f"{folder.relative_to(REPO)}: remove {sorted(p.name for p in on_disk - written)}"


def test_the_cli_reference_has_every_command_option_and_example(generated: dict[Path, str]) -> None:
    import typer
    from seawall.cli import register

    page = generated[DOCS / "reference" / "cli.md"]
    root = typer.main.get_command(register())
    groups: list[tuple[str, Any]] = [("seawall", root)]
    seen = 0
    while groups:
        path, group = groups.pop()
        for name, command in group.commands.items():
            full = f"{path} {name}"
            assert f"## `{full}`" in page
            for param in command.params:
                for option in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                    if option.startswith("-"):
                        assert f"`{option}`" in page.split(f"## `{full}`", 1)[1], f"{full} {option}"
            for line in (command.help or "").split("Examples:", 1)[1:]:
                for example in filter(None, (e.strip() for e in line.splitlines())):
                    assert example in page, f"{full}: example {example!r}"
            seen += 1
            if hasattr(command, "commands"):
                groups.append((full, command))
    assert seen >= 13


def test_the_component_reference_has_every_argument_and_output(generated: dict[Path, str]) -> None:
    schema = json.loads((REPO / "schema" / "seawall.schema.json").read_text(encoding="utf-8"))
    page = generated[DOCS / "reference" / "components.md"]
    for token, resource in schema["resources"].items():
        section = page.split(f"## {token.rsplit(':', 1)[-1]}\n", 1)[1].split("\n## ", 1)[0]
        for name in [*resource["inputProperties"], *resource["properties"]]:
            assert f"| `{name}` |" in section, f"{token}: {name}"


def test_every_stack_has_a_diagram_page_that_draws_its_roles() -> None:
    stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*"))
    for stack in stacks:
        page = (DOCS / "reference" / "diagrams" / f"{stack}.md").read_text(encoding="utf-8")
        block = page.split("```mermaid\n", 1)[1].split("```", 1)[0]
        assert block.startswith("flowchart LR") and f'["{stack}"]' in block


# --- the README and the site agree -------------------------------------------------------------------------------


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def commands(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_is_short_and_its_quick_start_is_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    blocks = re.findall(r"```sh\n(.*?)```", section(text, "Quick start"), re.S)
    assert len(blocks) == 1 and len(commands(blocks[0])) == 2
    first, second = commands(blocks[0])
    assert first.endswith("seawall plan --stack dmz-aws") and second.endswith("pytest -q")
    for heading in ("Reviewing changes", "Drift"):
        assert section(text, heading).strip()


def test_the_site_shows_the_readmes_quick_start() -> None:
    readme = re.findall(r"```sh\n(.*?)```", section(README.read_text(encoding="utf-8"), "Quick start"), re.S)[0]
    for page in ("index.md", "get-started.md"):
        assert f"```sh\n{readme}```" in (DOCS / page).read_text(encoding="utf-8"), page


def test_every_link_in_the_readme_leads_somewhere() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert local, "the README links into the site"
    missing = [t for t in local if not (REPO / t).exists()]
    assert missing == []


def test_the_packet_model_page_is_in_the_nav_under_explanation() -> None:
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    explanation = nav.split("  - Explanation:\n", 1)[1].split("\n  - ", 1)[0]
    assert "The packet model behind diff and audit: explanation/packets.md" in explanation


def written_pages() -> list[Path]:
    """The hand-written pages and the README (generated pages are checked against their generator)."""
    return [README, *(p for p in DOCS.rglob("*.md") if "reference" not in p.relative_to(DOCS).parts[:1])]


def code_blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


def test_every_seawall_command_line_in_the_docs_names_real_commands_and_options() -> None:
    import shlex

    import typer
    from seawall.cli import register

    root = typer.main.get_command(register())

    def options(command: Any) -> set[str]:
        return {o for p in command.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}

    checked, wrong = 0, []
    for path in written_pages():
        for block in code_blocks(path, "sh"):
            for line in block.splitlines():
                line = line.removeprefix("$ ").split(" # ", 1)[0]
                if not line.startswith("seawall "):
                    continue
                words = shlex.split(line.split("|", 1)[0].split(">", 1)[0])[1:]
                command, known = root, options(root)
                while words and not words[0].startswith("-") and hasattr(command, "commands"):
                    if words[0] not in command.commands:
                        wrong.append(f"{path.name}: {line}: no command {words[0]!r}")
                        break
                    command = command.commands[words.pop(0)]
                    known |= options(command)
                wrong += [
                    f"{path.name}: {line}: no option {w}"
                    for w in words
                    if w.startswith("-") and w.split("=")[0] not in known
                ]
                checked += 1
    assert wrong == []
    assert checked > 40


def test_every_stack_key_in_the_docs_yaml_examples_is_one_a_stack_file_may_hold() -> None:
    from seawall.records import json_schema
    from seawall.stackconfig import StackSettings

    valid = set(json_schema(StackSettings)["properties"])
    used = [
        (path.name, key)
        for path in written_pages()
        for block in code_blocks(path, "yaml")
        for key in re.findall(r"^\s*seawall:(\w+):", block, re.M)
    ]
    assert len(used) >= 20
    assert [(page, key) for page, key in used if key not in valid] == []


def test_python_examples_in_the_docs_are_formatted_as_ruff_checks_them(tmp_path: Path) -> None:
    examples = [(path, block) for path in written_pages() for block in code_blocks(path, "python")]
    assert len(examples) >= 3
    for index, (path, block) in enumerate(examples):
        (tmp_path / f"{path.stem}_{index}.py").write_text(block, encoding="utf-8")
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--check", "--config", str(REPO / "pyproject.toml"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the site, built ---------------------------------------------------------------------------------------------


def mkdocs(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
        check=False,
    )


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    """The CI step `mkdocs build --strict` means something: a link to a page that is not there stops it."""
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(DOCS, tmp_path / "docs")
    (tmp_path / "tools").mkdir()
    shutil.copy(REPO / "tools" / "mkdocs_hooks.py", tmp_path / "tools")
    with (tmp_path / "docs" / "get-started.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [the missing page](how-to/not-there.md).\n")
    cache = {"SEAWALL_DOCS_CACHE": str(REPO / ".cache" / "docs")}
    result = mkdocs("build", "--strict", "--site-dir", str(tmp_path / "site"), cwd=tmp_path, env=cache)
    assert result.returncode != 0
    assert "how-to/not-there.md" in result.stderr and "get-started.md" in result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = mkdocs("build", "--strict", "--site-dir", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_the_site_builds_every_page_with_mermaid_served_from_itself(site: Path) -> None:
    assert (site / "index.html").is_file() and (site / "reference" / "cli" / "index.html").is_file()
    assert (site / "assets" / "vendor" / "mermaid.min.js").stat().st_size > 1_000_000
    diagram = (site / "reference" / "diagrams" / "dmz-aws" / "index.html").read_text(encoding="utf-8")
    assert '<pre class="mermaid"><code>flowchart LR' in diagram
    assert "assets/vendor/mermaid.min.js" in diagram


# --- the site, looked at ------------------------------------------------------------------------------------------


class DevTools:
    """Just enough of the Chrome DevTools protocol: calls, and the events that arrive meanwhile."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.05, deadline - time.monotonic())))
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {expression}")

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
                found.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(details.get("exception", {}).get("description") or details["text"])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"request failed: {params['errorText']}")
        return found

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test: apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it and runs this test")
    return found


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    from websockets.sync.client import connect

    binary = chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    flags = [
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",  # a container's small /dev/shm must not crash the renderer
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # no calls home: the machine has no network but loopback
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    process = subprocess.Popen([binary, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port in 30 s"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        (page,) = [t for t in targets if t["type"] == "page"]
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as socket:
            tools = DevTools(socket)
            for domain in ("Runtime", "Log", "Network", "Page", "DOM"):
                tools.call(f"{domain}.enable")
            yield tools
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def look_at(browser: DevTools, url: str, screenshot: str, ready: str) -> dict[str, Any]:
    """Open the page, wait until `ready` holds and a moment more, keep a screenshot; what went wrong there."""
    browser.events.clear()
    browser.call("Page.navigate", url=url)
    browser.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")
    browser.wait_for(ready)
    time.sleep(0.5)  # errors a page throws after its load
    browser.evaluate("window.scrollTo(0, 0)")
    shot = browser.call("Page.captureScreenshot", format="png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / screenshot).write_bytes(base64.b64decode(shot["data"]))
    return {"errors": browser.errors(), "requested": browser.requested()}


def drawn_svg(browser: DevTools) -> int:
    """The node id of the <svg> in the shadow root of the page's div.mermaid."""
    root = browser.call("DOM.getDocument", depth=-1, pierce=True)["root"]
    stack = [root]
    while stack:
        node = stack.pop()
        attributes = node.get("attributes", [])
        classes = dict(zip(attributes[::2], attributes[1::2], strict=True)).get("class", "").split()
        if node.get("nodeName") == "DIV" and "mermaid" in classes:
            for shadow in node.get("shadowRoots", []):
                for child in shadow.get("children", []):
                    if child.get("nodeName", "").lower() == "svg":
                        return int(child["nodeId"])
        stack.extend(node.get("children", []))
        stack.extend(node.get("shadowRoots", []))
    raise AssertionError("no <svg> in the shadow root of div.mermaid")


def test_the_site_in_chromium(served: str, browser: DevTools) -> None:
    """Landing page, one conformance page, one diagram page: rendered, no console error, nothing off loopback."""
    started = time.monotonic()
    landing = look_at(browser, f"{served}/", "landing.png", "document.querySelector('h1') !== null")
    assert browser.evaluate("document.title").startswith("seawall")
    nav = browser.evaluate("Array.from(document.querySelectorAll('.md-nav__link')).map(a => a.textContent.trim())")
    assert {"Get started", "How-to guides", "Explanation", "Reference"} <= set(nav)

    conformance = look_at(
        browser,
        f"{served}/reference/conformance/dmz-aws/",
        "conformance-dmz-aws.png",
        "document.querySelectorAll('article table tbody tr').length > 20",
    )
    assert "dmz-aws" in browser.evaluate("document.querySelector('article h1').textContent")

    # Material replaces <pre class="mermaid"> with a <div class="mermaid"> holding the drawing in a closed
    # shadow root, which page scripts cannot open; the DevTools DOM domain can.
    drawn_js = "document.querySelector('article div.mermaid') && !document.querySelector('article pre.mermaid')"
    diagram = look_at(browser, f"{served}/reference/diagrams/dmz-aws/", "diagram-dmz-aws.png", drawn_js)
    svg = drawn_svg(browser)
    box = browser.call("DOM.getBoxModel", nodeId=svg)["model"]
    assert box["width"] > 300 and box["height"] > 100, box
    x, y = box["border"][0], box["border"][1]  # the page is scrolled to its top: viewport = page coordinates
    clip = {"x": x, "y": y, "width": box["width"], "height": box["height"], "scale": 1}
    shot = browser.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
    (ARTIFACTS / "diagram-dmz-aws.png").write_bytes(base64.b64decode(shot["data"]))
    markup = browser.call("DOM.getOuterHTML", nodeId=svg)["outerHTML"]
    text = re.sub(r"<[^>]+>", " ", markup)
    assert "Syntax error" not in text
    for label in ("gateway", "internet", "admin-clients", "tcp/25"):
        assert label in text, label
    assert markup.count('class="node') >= 10 and markup.count('class="edgeLabel') >= 10

    for name, seen in (("landing", landing), ("conformance", conformance), ("diagram", diagram)):
        assert seen["errors"] == [], f"{name} page: {seen['errors']}"
        off_site = [u for u in seen["requested"] if not u.startswith((served, "data:", "blob:"))]
        assert off_site == [], f"{name} page asked the network: {off_site}"
    assert any(u.endswith("/assets/vendor/mermaid.min.js") for u in diagram["requested"])
    for png in ("landing.png", "conformance-dmz-aws.png", "diagram-dmz-aws.png"):
        assert (ARTIFACTS / png).read_bytes().startswith(b"\x89PNG") and (ARTIFACTS / png).stat().st_size > 10_000
    print(f"\nbrowser: three pages in {time.monotonic() - started:.1f} s; screenshots in {ARTIFACTS}")
