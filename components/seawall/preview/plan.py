"""``seawall plan``: what ``pulumi preview`` would create, offline.

Runs the real stack program under the Pulumi SDK's mock monitor, with the
config of ``stacks/Pulumi.<stack>.yaml``, and records every registration. A
resource's id is the placeholder ``${<logical name>.id}``, so references between
resources read ``"securityGroupId": "${dmz-gateway-sg.id}"``. The result is
deterministic: resources sorted by type then name, inputs exactly as registered
(the engine's camelCase keys).
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi.runtime import Mocks

from seawall.aws.render import AwsSpec
from seawall.azure.render import AzureSpec
from seawall.catalog.load import ProgressCallback, load_catalog
from seawall.errors import UserError
from seawall.flows import Notice
from seawall.stack import CompiledStack, StackFiles, compile_files, render_stack
from seawall.stackconfig import load_stack_config, parse_config

PROJECT = "seawall"
# The program's pulumi.log.warn lines; the plan reports the same warnings itself.
_QUIET = logging.getLogger("seawall.plan.engine")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "urn": self.urn, "inputs": self.inputs}


@dataclass(frozen=True)
class Plan:
    stack: str
    compiled: CompiledStack
    spec: AwsSpec | AzureSpec  # what the program rendered and declared
    resources: tuple[PlannedResource, ...]
    outputs: dict[str, Any]

    @property
    def warnings(self) -> list[Notice]:
        return [n for n in self.compiled.flows.notices if n.warning]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
            "warnings": [{"role": n.role, "entry": n.entry, "kind": n.kind, "text": n.text} for n in self.warnings],
        }

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def config_strings(config: dict[str, Any]) -> dict[str, str]:
    """Config values as Pulumi hands them to a program: strings, structure as JSON."""
    return {
        k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), sort_keys=True) for k, v in config.items()
    }


@dataclass(frozen=True)
class PreparedPlan:
    """A stack read, validated and compiled: everything a plan needs before the program runs."""

    files: StackFiles
    raw_config: dict[str, Any]
    compiled: CompiledStack


def prepare_plan(
    stack: str,
    stacks_dir: Path,
    catalog_dir: Path | None = None,
    lock: Path | None = None,
    progress: ProgressCallback | None = None,
) -> PreparedPlan:
    """Read, validate and compile the stack; every config error (file:line) is raised here, before any planning.

    ``lock`` overrides the IP-set lock; it reaches the program as ``seawall:lockFile``.
    ``progress`` is told how the catalogue load goes (``("loading catalogue", done, total)``,
    see :func:`load_catalog`); a catalogue already loaded in this process reports nothing.
    """
    files = StackFiles(stack, stacks_dir, catalog_dir, lock)
    config = load_stack_config(stack, stacks_dir)
    raw = dict(config.document.data["config"]) if config.document is not None else {}
    if lock is not None:
        raw["seawall:lockFile"] = str(lock.resolve())
        config = parse_config(stack, raw, config.path, config.document)
    catalog = load_catalog(catalog_dir, progress=progress)
    return PreparedPlan(files, raw, compile_files(files, config, catalog))


def run_plan(prepared: PreparedPlan) -> Plan:
    """Run the stack's program under mocks, handing it the compilation; it hands back the spec it rendered."""
    from seawall.preview.program import planning

    files, compiled = prepared.files, prepared.compiled
    with planning(compiled) as builds:
        resources, outputs = run_program(
            files.stack,
            config_strings(prepared.raw_config),
            lambda: _program(files.program_file, files.stacks_dir, files.catalog_dir),
        )
    # A program of the user's own that builds the components itself hands nothing back: render here.
    spec = builds[-1].spec if builds else render_stack(compiled)
    return Plan(files.stack, compiled, spec, resources, outputs)


def plan_stack(stack: str, stacks_dir: Path, catalog_dir: Path | None = None, lock: Path | None = None) -> Plan:
    """Validate and compile the stack (errors name file:line), then run its program under mocks."""
    return run_plan(prepare_plan(stack, stacks_dir, catalog_dir, lock))


def _program(path: Path, stacks_dir: Path, catalog_dir: Path | None) -> None:
    """The stack's own ``__main__.py`` (the library program when there is none).

    ``--catalog`` replaces the catalogue and nothing else: the program still runs, and
    it builds from the compilation the plan hands it, which was made with that catalogue.
    """
    if path.is_file():
        runpy.run_path(str(path), run_name="__main__")
        return
    from seawall.preview import program

    program.run(stacks_dir, catalog_dir)


def run_program(
    stack: str,
    config: dict[str, str],
    program: Any,
    project: str = PROJECT,
    recorder: Recorder | None = None,
    preview: bool = False,
) -> tuple[tuple[PlannedResource, ...], dict[str, Any]]:
    """Run ``program`` under the mock monitor on a fresh event loop; return registrations and stack outputs.

    ``preview`` runs it as ``pulumi preview`` does, where a value unknown until apply stays unknown.
    """
    import pulumi
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    recorder = recorder or Recorder()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The mock monitor answers on executor threads, each of which makes itself an event loop.
    # Own those loops so that they are closed here, not torn down noisily at interpreter exit.
    worker_loops: list[asyncio.AbstractEventLoop] = []

    def _worker_loop() -> None:
        worker = asyncio.new_event_loop()
        asyncio.set_event_loop(worker)
        worker_loops.append(worker)

    executor = ThreadPoolExecutor(max_workers=4, initializer=_worker_loop)
    loop.set_default_executor(executor)
    try:
        monitor = mocks.MockMonitor(recorder)
        settings.ROOT.set(None)  # each run gets its own root stack on its own monitor
        pulumi.runtime.set_all_config(config)
        pulumi.runtime.set_mocks(
            recorder, project=project, stack=stack, preview=preview, monitor=monitor, logger=_QUIET
        )
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        try:
            _sync_await(run_pulumi_func(program))
        except pulumi.RunError as exc:
            raise UserError("", str(exc)) from None
        registrations = monitor.get_registered_resources()
        root = settings.get_root_resource()
        outputs = _sync_await(_resolve(getattr(root, "outputs", {})))
    finally:
        executor.shutdown(wait=True)
        for worker in worker_loops:
            worker.close()
        loop.close()
        asyncio.set_event_loop(None)
    resources = []
    for mock_urn in registrations:
        # The engine leaves the root stack out of a URN's type chain; the mock monitor does not.
        urn = mock_urn.replace("::pulumi:pulumi:Stack$", "::", 1)
        type_ = urn.split("::")[2].split("$")[-1]
        name = urn.split("::")[3]
        resources.append(PlannedResource(type_, name, urn, _plain(recorder.inputs[urn_key(type_, name)])))
    resources.sort(key=lambda r: (r.type, r.name))
    return tuple(resources), _plain(outputs)


async def _resolve(outputs: dict[str, Any]) -> dict[str, Any]:
    import pulumi

    resolved = {}
    for key, value in outputs.items():
        resolved[key] = await pulumi.Output.from_input(value).future()
    return resolved


def urn_key(type_: str, name: str) -> str:
    return f"{type_}::{name}"


def _plain(value: Any) -> Any:
    """Sorted keys; integral numbers as integers (the engine's protobuf Struct carries every number as a double)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Recorder(Mocks):
    """The mocks: every custom resource's id is ``${name.id}``; its state echoes its inputs."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.providers: dict[str, str | None] = {}  # resource → provider reference, for tests

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        self.inputs[urn_key(args.typ, args.name)] = dict(args.inputs)
        self.providers[urn_key(args.typ, args.name)] = args.provider
        return (f"${{{args.name}.id}}" if args.custom else None), dict(args.inputs)

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None
