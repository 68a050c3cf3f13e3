"""The component package over gRPC, as the Pulumi engine drives it for TypeScript, Go, C#, Java or YAML.

The package's real entry point (``__main__.py``: the SDK's provider host, ``pulumi.provider.main``)
runs as its own process, in a working directory that is not the user's project (it even holds
a decoy IP-set lock). This test plays the engine: it serves the engine and resource-monitor
gRPC services the provider calls back, and calls ``Construct`` with inputs serialised as the
engine serialises them (camelCase keys, numbers as doubles, output values).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from builders import lock_text
from conftest import REPO
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    errors_pb2,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    status_pb2,  # the SDK's copy of google.rpc.Status (googleapis' would be a second definition of it)
)

PROJECT, STACK = "mail-platform", "prod"
APPHELP = "apphelp.clearswift.com"


class Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    """The engine's resource monitor, as far as a component's construction needs it: it records registrations."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.registered: list[dict[str, Any]] = []

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        features = [
            resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
            resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
            resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES,
            resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
        ]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=True)

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return resource_pb2.RegisterPackageResponse(ref=f"{request.name}-ref")

    def RegisterResource(self, request: Any, context: Any) -> Any:
        chain = request.type
        if request.parent:
            chain = f"{request.parent.split('::')[2]}${request.type}"
        urn = f"urn:pulumi:{STACK}::{PROJECT}::{chain}::{request.name}"
        with self.lock:
            self.registered.append(
                {
                    "urn": urn,
                    "type": request.type,
                    "name": request.name,
                    "inputs": json_format.MessageToDict(request.object),
                }
            )
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=f"{request.name}-id" if request.custom else "", object=request.object
        )

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()


class Engine(engine_pb2_grpc.EngineServicer):
    """The engine's log and root-resource services; log lines are kept to show what a user would read."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, str]] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


class Host:
    """The provider process and the engine's side of the conversation."""

    def __init__(
        self,
        provider: provider_pb2_grpc.ResourceProviderStub,
        monitor: Monitor,
        engine: Engine,
        port: int,
        stderr: Path,
    ):
        self.provider, self.monitor, self.engine, self.monitor_port = provider, monitor, engine, port
        self.stderr = stderr  # the plugin's stderr, which the engine relays

    def construct(self, token: str, name: str, inputs: dict[str, Any], dry_run: bool = False) -> Any:
        struct = struct_pb2.Struct()
        struct.update(inputs)
        request = provider_pb2.ConstructRequest(
            project=PROJECT,
            stack=STACK,
            dryRun=dry_run,
            parallel=4,
            monitorEndpoint=f"127.0.0.1:{self.monitor_port}",
            type=token,
            name=name,
            inputs=struct,
            organization="organization",
        )
        return self.provider.Construct(request, timeout=120)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    monitor, engine = Monitor(), Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(monitor, server)
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # The plugin's working directory is not the user's project: a lock lying there must never be read.
    plugin_dir = tmp_path_factory.mktemp("plugin")
    (plugin_dir / "Pulumi.yaml").write_text("name: somebody-else\nruntime: python\n")
    (plugin_dir / "ipsets.lock.json").write_text(lock_text({APPHELP: ["52.16.0.1/32"]}))
    stderr = plugin_dir / "stderr.txt"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "__main__.py"), f"127.0.0.1:{port}"],
        cwd=plugin_dir,
        stdout=subprocess.PIPE,
        stderr=stderr.open("w"),
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            process.kill()
            pytest.fail(f"the provider did not start: {line!r} {stderr.read_text()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line.strip()}")
        yield Host(provider_pb2_grpc.ResourceProviderStub(channel), monitor, engine, port, stderr)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=30)
        server.stop(None)


def property_errors(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The input-property errors a failed call carries, as the engine reads them from the status details."""
    trailing = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailing["grpc-status-details-bin"])
    found = []
    for detail in status.details:
        errors = errors_pb2.InputPropertiesError()
        assert detail.Unpack(errors)
        found.extend((e.property_path, e.reason) for e in errors.errors)
    return found


SIG = rpc._special_sig_key


def output(value: Any) -> dict[str, Any]:
    """Another resource's output, known (an update), as the engine sends it."""
    return {SIG: rpc._special_output_value_sig, "value": value}


WIRE: dict[str, Any] = {
    "topology": "dmz",
    "product": "clearswift-seg",
    "features": ["sophos", "syslog"],
    "vpcId": output("vpc-0123456789abcdef0"),
    "peers": {
        "internal-mail-servers": {"cidrs": [output("10.20.1.0/24")]},
        "dns-servers": {"cidrs": ["10.20.0.2/32"]},
        "admin-clients": {"cidrs": ["10.30.0.0/24"]},
        "syslog-server": {"cidrs": ["10.20.1.20/32"]},
    },
    "quotas": {"rulesPerSecurityGroup": 60},
    "lock": lock_text({APPHELP: ["79.125.18.100/32"]}),
}


AZURE_WIRE = {k: v for k, v in WIRE.items() if k not in ("vpcId", "quotas")} | {
    "resourceGroupName": "rg-mail",
    "location": "westeurope",
}


def test_construct_over_grpc_builds_the_firewall_from_its_inputs_and_no_file(host: Host) -> None:
    before = len(host.monitor.registered)
    response = host.construct("seawall:index:AwsFirewall", "mail-a", WIRE)
    assert response.urn == f"urn:pulumi:{STACK}::{PROJECT}::seawall:index:AwsFirewall::mail-a"
    state = json_format.MessageToDict(response.state)
    assert set(state) == {"securityGroupIds", "prefixListIds", "warnings"}
    rows = {r["name"]: r for r in host.monitor.registered[before:]}
    group = rows["mail-a-gateway-sg"]["inputs"]
    assert group["name"] == "mail-a-gateway" and group["vpcId"] == "vpc-0123456789abcdef0"
    rule = rows["mail-a-gateway-in-tcp-25-internal-mail-servers-cidr-1"]["inputs"]
    assert rule["cidrIpv4"] == "10.20.1.0/24"
    apphelp = rows["mail-a-apphelp-ipv4-pl"]["inputs"]
    # the lock given as an input, never the one in the plugin's working directory
    assert [e["cidr"] for e in apphelp["entries"]] == ["79.125.18.99/32", "79.125.18.100/32"]


def test_a_second_firewall_over_grpc_names_its_own_children(host: Host) -> None:
    before = len(host.monitor.registered)
    host.construct("seawall:index:AwsFirewall", "mail-b", WIRE)
    names = {r["name"] for r in host.monitor.registered[before:]}
    assert "mail-b-gateway-sg" in names and not any(n.startswith("mail-a-") for n in names)


def test_two_hosted_firewalls_given_one_name_prefix_are_refused_like_two_in_python(host: Host) -> None:
    # Each component comes in a Construct call of its own: the provider remembers the prefixes across them.
    host.construct("seawall:index:AwsFirewall", "mail-c", {**WIRE, "namePrefix": "shared"})
    host.construct("seawall:index:AwsFirewall", "mail-c", {**WIRE, "namePrefix": "shared"})  # the same one again
    host.construct("seawall:index:AzureFirewall", "mail-z", {**AZURE_WIRE, "namePrefix": "shared"})  # other cloud
    with pytest.raises(grpc.RpcError) as info:
        host.construct("seawall:index:AwsFirewall", "mail-d", {**WIRE, "namePrefix": "shared"})
    ((path, reason),) = property_errors(info.value)
    assert path == "namePrefix"
    assert reason.startswith("'shared' already names the cloud resources of 'mail-c' in this program")


@pytest.mark.parametrize(
    ("token", "change", "path", "reason"),
    [
        ("AwsFirewall", {"namePrefx": "mail"}, "namePrefx", "unknown key 'namePrefx'; valid args keys: addresses"),
        ("AwsFirewall", {"name_prefix": "mail"}, "name_prefix", "snake_case is Python's spelling; write namePrefix"),
        (
            "AwsFirewall",
            {"peers": {"admin-clients": {"cidr": ["10.30.0.0/24"]}}},
            "peers.admin-clients.cidr",
            "unknown key 'cidr'",
        ),
        ("AwsFirewall", {"vpcId": None}, "vpcId", "missing required argument"),
        ("AzureFirewall", {"vpcId": None, "quotas": None}, "resourceGroupName", "missing required argument"),
        (  # a value known only at apply that fails its check, after construct has returned
            "AwsFirewall",
            {"peers": {**WIRE["peers"], "admin-clients": {"cidrs": [output("10.30.0.1/24")]}}},
            "peers.admin-clients.cidrs[0]",
            "'10.30.0.1/24' has host bits set; valid: 10.30.0.0/24",
        ),
        ("AwsFirewall", {"lock": "not a lock"}, "lock", "args.lock:1: not JSON"),
    ],
)
def test_construct_errors_reach_the_engine_as_one_input_property_error(
    host: Host, token: str, change: dict[str, Any], path: str, reason: str
) -> None:
    inputs = {k: v for k, v in {**WIRE, **change}.items() if v is not None}
    with pytest.raises(grpc.RpcError) as info:
        host.construct(f"seawall:index:{token}", "bad", inputs)
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "Traceback" not in (error.details() or "")  # type: ignore[attr-defined]
    ((found_path, found_reason),) = property_errors(error)
    assert found_path == path
    assert found_reason.startswith(reason) and "\n" not in found_reason


def test_the_provider_process_shows_the_user_no_python_traceback(host: Host) -> None:
    # what `pulumi up` shows without --debug: the SDK's own debug lines carry stack traces, and stay hidden
    shown = [message for severity, message in host.engine.logs if severity >= engine_pb2.INFO]
    assert shown, "the warnings reached the engine"
    assert not [m for m in shown if "Traceback" in m or "never retrieved" in m]
    assert "Traceback" not in host.stderr.read_text()


def test_the_package_entry_point_is_the_sdks_provider_host() -> None:
    entry = (REPO / "__main__.py").read_text(encoding="utf-8")
    assert "serve(sys.argv[1:])" in entry
    source = Path(REPO / "components" / "seawall" / "provider.py").read_text(encoding="utf-8")
    assert "from pulumi.provider import main" in source
