"""mkdocs hooks for the seawall site (mkdocs.yml: hooks): Mermaid's JavaScript served from the site itself.

mkdocs-material draws ``mermaid`` code blocks with Mermaid, which it fetches from a CDN unless the page
already has it. The site must work with no network but the package registries, so the build takes
Mermaid from the npm registry (``npm pack``, the ordinary client), checks the tarball against the
integrity pinned here, keeps ``dist/mermaid.min.js`` in ``.cache/`` and ships it with the site. The
pages then load it from their own origin, offline.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

# Material's loader asks for mermaid@11; change both lines together (npm view mermaid@11.x dist.integrity).
MERMAID_VERSION = "11.17.2"
MERMAID_INTEGRITY = "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg=="
SITE_PATH = "assets/vendor/mermaid.min.js"
# The download is kept between builds; SEAWALL_DOCS_CACHE moves it (a test building a copy of the site).
CACHE = Path(os.environ.get("SEAWALL_DOCS_CACHE") or Path(__file__).resolve().parent.parent / ".cache" / "docs")


def mermaid_js() -> Path:
    """``mermaid.min.js`` of the pinned release, from the cache or the npm registry (integrity checked)."""
    target = CACHE / f"mermaid-{MERMAID_VERSION}.min.js"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["npm", "pack", f"mermaid@{MERMAID_VERSION}", "--pack-destination", tmp, "--silent"],
                check=True,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise PluginError(f"cannot fetch mermaid@{MERMAID_VERSION} with npm pack: {detail}") from None
        tarball = Path(tmp) / f"mermaid-{MERMAID_VERSION}.tgz"
        data = tarball.read_bytes()
    algorithm, _, expected = MERMAID_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise PluginError(f"mermaid@{MERMAID_VERSION}: the tarball's {algorithm} is {actual}, pinned {expected}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile("package/dist/mermaid.min.js")
        if member is None:
            raise PluginError(f"mermaid@{MERMAID_VERSION} has no dist/mermaid.min.js")
        script = member.read()
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(script)
    partial.replace(target)
    return target


def on_config(config: MkDocsConfig, **_: Any) -> MkDocsConfig:
    # Loaded before Material's bundle runs its Mermaid check, so the CDN is never asked.
    if SITE_PATH not in [str(script) for script in config.extra_javascript]:
        config.extra_javascript.insert(0, SITE_PATH)
    return config


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    files.append(File.generated(config, SITE_PATH, abs_src_path=str(mermaid_js())))
    return files
