"""`seawall audit` against loopback clouds that misbehave: a table of endpoint faults, each with its bound.

Azure: the real azure-mgmt-network client and azure-identity's credential chain against the
ARM server of tests/armserver.py, which injects each fault (:class:`armserver.Fault`): bodies
that trickle, a token endpoint that never answers or fails, listings in shapes ARM never sends,
priorities that are not integers, throttling with an HTTP-date. AWS: botocore against moto's
server (tests/motoserver.py) with the same kinds of fault injected in front of it.

Every fault must end the audit with exit 2 and one line that says what happened (never a
traceback, never exit 1, which a scheduled job reads as drift), within the bound ``--help``
states for the ``--timeout`` given: the whole audit, token included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import armserver
import motoserver
import pytest
from armserver import ArmServer, Fault
from boundedrun import Outcome, run_seawall
from builders import STACKS
from seawall.aws import account as aws_account
from seawall.azure import account as azure_account
from seawall.cli import app
from test_audit_azure import DMZ, SUB, deploy
from typer.testing import CliRunner, Result

LOCAL_WORK = 5.0  # starting Python, compiling the stack and importing the SDK, on a slow shared machine
TIMEOUT = 1.0
MiB = 2**20
ADDRESS_SPACE = 1024 * MiB  # the child's limit: what an audit maps (about 600 MiB with the SDKs) and some


@dataclass(frozen=True)
class EndpointFault:
    """A fault, and the one line (its start, and words it must hold) the audit must end with."""

    id: str
    faults: tuple[Fault, ...]
    where: str  # the line's label: "--endpoint-url", "credentials", "permissions", "{endpoint}"
    says: tuple[str, ...]
    deployed: bool = True  # the stack is deployed first (edits need rules to edit)
    memory: int = 48 * 2**20  # what the fault may cost beyond an audit that succeeds
    tries: int | None = None  # how many requests the fault must have answered (retried, but a bounded number)


def _nsg_rules(page: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    """The NSG listing with ``change`` applied to the first custom rule's properties."""
    for nsg in page["value"]:
        for rule in nsg["properties"].get("securityRules", []):
            change(rule["properties"])
            return page
    raise AssertionError("no rule to change")


def _set(key: str, value: Any) -> Callable[[Any], Any]:
    return lambda page: _nsg_rules(page, lambda props: props.__setitem__(key, value))


NSG_LIST = r"/resourceGroups/[^/]+/providers/Microsoft\.Network/networkSecurityGroups$"
NOT_ARM = "is not an ARM response"

AZURE_FAULTS = [
    EndpointFault(
        "body-trickles-a-byte-every-half-second",
        (Fault(NSG_LIST, trickle=0.5),),
        "--endpoint-url",
        ("did not finish", f"within {azure_account.worst_case(TIMEOUT):g} s", "raise --timeout"),
    ),
    EndpointFault(
        "token-endpoint-never-answers",
        (Fault("^/msi/", silent=True),),
        "credentials",
        ("the token endpoint did not finish getting a token", f"within {azure_account.worst_case(TIMEOUT):g} s"),
    ),
    EndpointFault(
        "token-endpoint-answers-500",
        (Fault("^/msi/", status=500, body={"error": "server_error", "error_description": "boom"}),),
        "credentials",
        ("the managed-identity token endpoint answered HTTP 500",),
    ),
    *(
        EndpointFault(f"listing-{name}", (Fault(NSG_LIST, body=body),), "--endpoint-url", (NOT_ARM, says))
        for name, body, says in [
            ("value-null", {"value": None}, "its 'value' is null, not a list"),
            ("a-list", [1, 2, 3], "a listing is an object with a 'value' list, not a list of 3"),
            ("value-of-text", {"value": ["oops"]}, "value[0] is the text 'oops', not a resource"),
            ("next-link-a-number", {"value": [], "nextLink": 5}, "its nextLink is 5, not a URL"),
            ("value-an-object", {"value": {}}, "its 'value' is an empty object, not a list"),
            ("empty-object", {}, "a listing is an object with a 'value' list, not an empty object"),
            ("not-json", b"<html>It works!</html>", "not JSON"),
            ("key-twice", b'{"value": [], "value": []}', "key 'value' appears twice"),
        ]
    ),
    EndpointFault(
        "security-rules-an-object",
        (
            Fault(
                NSG_LIST,
                edit=lambda page: [n["properties"].__setitem__("securityRules", {}) for n in page["value"]] and page,
            ),
        ),
        "--endpoint-url",
        (NOT_ARM, "securityRules is an empty object, not a list"),
    ),
    EndpointFault(
        "priority-740.5",
        (Fault(NSG_LIST, edit=_set("priority", 740.5)),),
        "--endpoint-url",
        (NOT_ARM, "priority 740.5, not an integer"),
    ),
    EndpointFault(
        "priority-true",
        (Fault(NSG_LIST, edit=_set("priority", True)),),
        "--endpoint-url",
        (NOT_ARM, "priority true, not an integer"),
    ),
    EndpointFault(
        "prefixes-a-string",
        (Fault(NSG_LIST, edit=_set("sourceAddressPrefixes", "10.0.0.0/8")),),
        "--endpoint-url",
        (NOT_ARM, "sourceAddressPrefixes the text '10.0.0.0/8', not a list of text"),
    ),
    EndpointFault(
        "a-gigabyte-page-declared",
        (Fault(NSG_LIST, body=b" " * (azure_account.MAX_ANSWER_CHARS + 1)),),
        "--endpoint-url",
        (NOT_ARM, "more than any ARM page"),
    ),
    EndpointFault(
        "a-page-past-the-cap-undeclared",
        (Fault(NSG_LIST, body=b" " * (azure_account.MAX_ANSWER_CHARS + 2**20), declare_length=False),),
        "--endpoint-url",
        (NOT_ARM, "more than any ARM page"),
        memory=azure_account.MAX_ANSWER_CHARS + 32 * 2**20,  # read up to the cap, no further
    ),
    EndpointFault(
        "retry-after-an-http-date",
        (
            Fault(
                NSG_LIST,
                status=429,
                body={"error": {"code": "TooManyRequests", "message": "slow down"}},
                headers={"Retry-After": "Fri, 01 Jan 2038 00:00:00 GMT"},
            ),
        ),
        "{endpoint}",
        ("asks to wait until Fri, 01 Jan 2038 00:00:00 GMT (about", "years from now)"),
    ),
    EndpointFault(
        "403",
        (Fault(NSG_LIST, status=403, body={"error": {"code": "AuthorizationFailed", "message": "no"}}),),
        "permissions",
        ("AuthorizationFailed (HTTP 403)", "Microsoft.Network/networkSecurityGroups/read"),
    ),
    EndpointFault(
        "429-every-time",
        (
            Fault(
                NSG_LIST,
                status=429,
                body={"error": {"code": "TooManyRequests", "message": "slow"}},
                headers={"Retry-After": "0"},
            ),
        ),
        "{endpoint}",
        ("TooManyRequests (HTTP 429)", f"still throttled after {azure_account.MAX_ATTEMPTS} tries"),
        tries=azure_account.MAX_ATTEMPTS,
    ),
    EndpointFault(
        "500-every-time",
        (
            Fault(
                NSG_LIST,
                status=500,
                body={"error": {"code": "InternalServerError", "message": "oops"}},
                headers={"Retry-After": "0"},
            ),
        ),
        "{endpoint}",
        ("InternalServerError (HTTP 500)", "a failure on the endpoint's side", "run it again later"),
        tries=azure_account.MAX_ATTEMPTS,
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[ArmServer]:
    arm = armserver.start()
    yield arm
    arm.stop()


@pytest.fixture()
def arm(server: ArmServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ArmServer:
    server.reset()
    armserver.isolate(monkeypatch, tmp_path, server)
    server.add_subscription(SUB)
    return server


def azure_audit(url: str, *options: str) -> tuple[Result, float]:
    args = ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--subscription", SUB, "--endpoint-url", url]
    start = time.monotonic()
    result = CliRunner().invoke(app, [*args, *options])
    return result, time.monotonic() - start


def azure_child(url: str, *options: str) -> Outcome:
    args = ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--subscription", SUB, "--endpoint-url", url]
    return run_seawall([*args, *options], limit=ADDRESS_SPACE)


def the_line(outcome: Outcome, stack: str) -> str:
    """The error line of a child's audit: exit 2, nothing on stdout, the opening status line at most before it."""
    assert outcome.code == 2, (outcome.code, outcome.stdout[-500:], outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr and outcome.stdout == ""
    *before, last = outcome.stderr.splitlines()
    assert all(line.startswith(f"auditing {stack} ") for line in before) and len(before) <= 1, outcome.stderr
    assert last.startswith("seawall: error: "), outcome.stderr
    return last.removeprefix("seawall: error: ")


@pytest.fixture(scope="module")
def azure_baseline(server: ArmServer, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """An audit that succeeds (in sync), in a child: what the bounds of the faults are above."""
    with pytest.MonkeyPatch.context() as patch:
        server.reset()
        armserver.isolate(patch, tmp_path_factory.mktemp("home"), server)
        server.add_subscription(SUB)
        deploy(server, DMZ)
        outcome = azure_child(server.endpoint_url)
    assert outcome.code == 0, outcome.stderr
    return outcome


def one_error_line(result: Result, stack: str) -> str:
    """The error line, after checking it is exit 2, the only line but the opening status line, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    *before, last = result.stderr.splitlines()
    assert all(line.startswith(f"auditing {stack} ") for line in before) and len(before) <= 1, result.stderr
    assert last.startswith("seawall: error: "), result.stderr
    return last.removeprefix("seawall: error: ")


@pytest.mark.parametrize("case", AZURE_FAULTS, ids=[c.id for c in AZURE_FAULTS])
def test_an_arm_fault_ends_the_audit_in_one_line_within_the_bound(
    azure_baseline: Outcome, arm: ArmServer, case: EndpointFault
) -> None:
    if case.deployed:
        deploy(arm, DMZ)
    for fault in case.faults:
        arm.fault(fault)
    outcome = azure_child(arm.endpoint_url, "--timeout", f"{TIMEOUT:g}")
    line = the_line(outcome, DMZ)
    assert line.startswith(case.where.replace("{endpoint}", arm.endpoint_url) + ": "), line
    for words in case.says:
        assert words in line, line
    assert outcome.seconds < azure_account.worst_case(TIMEOUT) + LOCAL_WORK, outcome.seconds
    assert outcome.peak < azure_baseline.peak + case.memory, (outcome.peak / MiB, azure_baseline.peak / MiB)
    assert {method for method, _ in arm.actions()} <= {"GET"}
    if case.tries is not None:
        assert case.faults[0].seen == case.tries


# --- the token goes to Azure, or stays on this machine --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://arm.example.net", "https://management.azure.com.example.net", "https://10.1.2.3:8443"],
)
def test_the_token_is_not_sent_to_an_endpoint_that_is_not_azure_or_loopback(arm: ArmServer, url: str) -> None:
    arm.requests.clear()
    result, _ = azure_audit(url)
    line = one_error_line(result, DMZ)
    assert line.startswith("--endpoint-url: "), line
    assert "would send it your Azure management token; pass --send-token-to-endpoint" in line
    assert arm.requests == []  # not even a token was asked for


def test_the_flag_lets_the_token_go_to_an_endpoint_the_user_trusts(arm: ArmServer) -> None:
    """With the flag the audit goes on to the endpoint (an unused loopback port stands for it: refused at once)."""
    with azure_account.token_to_any_endpoint(True):
        client = azure_account.connect(SUB, "https://arm.example.net")
    assert client.endpoint == "https://arm.example.net"
    result, _ = azure_audit("https://arm.example.net", "--send-token-to-endpoint", "--timeout", "0.5")
    assert "--send-token-to-endpoint" not in result.stderr  # got past the check: it failed reaching the endpoint


@pytest.mark.parametrize(
    "url",
    ["https://management.azure.com", "https://management.usgovcloudapi.net", "http://localhost:1", "http://[::1]:1"],
)
def test_azure_and_loopback_endpoints_need_no_flag(arm: ArmServer, url: str) -> None:
    client = azure_account.connect(SUB, url)
    assert client.endpoint == url
    assert client.scope == (f"{url}/.default" if "management." in url else azure_account.MANAGEMENT_SCOPE)


def test_help_says_where_the_token_goes_and_how_to_point_it_at_an_emulator() -> None:
    shown = " ".join(CliRunner().invoke(app, ["audit", "--help"]).stdout.replace("│", " ").split())
    assert "sends it your Azure management token" in shown
    assert "--send-token-to-endpoint" in shown
    assert "set IDENTITY_ENDPOINT to its App Service managed-identity URL and IDENTITY_HEADER" in shown
    assert "holds for the whole audit, getting the token included" in shown


# --- AWS ------------------------------------------------------------------------------------------------------------

AWS = "dmz-aws"


@pytest.fixture(scope="module")
def ec2() -> Iterator[motoserver.PagingMotoServer]:
    server = motoserver.start()
    yield server
    server.stop()


@pytest.fixture()
def moto(ec2: motoserver.PagingMotoServer, monkeypatch: pytest.MonkeyPatch) -> motoserver.PagingMotoServer:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_MAX_ATTEMPTS",
                 "AWS_RETRY_MODE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ec2.reset()
    ec2.log.faults.clear()
    return ec2


def aws_audit(url: str, *options: str) -> tuple[Result, float]:
    args = ["audit", "--stack", AWS, "--stacks-dir", str(STACKS), "--endpoint-url", url, *options]
    start = time.monotonic()
    result = CliRunner().invoke(app, args)
    return result, time.monotonic() - start


EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def _ec2_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"
    ).encode()


def _groups(items: str) -> bytes:
    return (
        f'<DescribeSecurityGroupsResponse xmlns="{EC2_NS}"><requestId>r</requestId>'
        f"<securityGroupInfo>{items}</securityGroupInfo></DescribeSecurityGroupsResponse>"
    ).encode()


AWS_FAULTS = [
    EndpointFault(
        "body-trickles-a-byte-every-half-second",
        (Fault("DescribeSecurityGroups", body=_groups(""), trickle=0.2),),
        "--endpoint-url",
        ("did not finish", f"within {aws_account.worst_case(TIMEOUT):g} s", "raise --timeout"),
    ),
    EndpointFault(
        "malformed-xml",
        (Fault("DescribeSecurityGroups", body=b"<DescribeSecurityGroupsResponse><securityGroupInfo><item>"),),
        "--endpoint-url",
        ("is not an EC2 response",),
    ),
    EndpointFault(
        "a-group-without-an-id",
        (Fault("DescribeSecurityGroups", body=_groups("<item><groupName>x</groupName></item>")),),
        "--endpoint-url",
        ("is not what EC2 sends", "a security group has GroupId None, not text"),
    ),
    EndpointFault(
        "a-page-past-the-cap-declared",
        (Fault("DescribeSecurityGroups", body=b" " * (aws_account.MAX_ANSWER_BYTES + 1)),),
        "--endpoint-url",
        ("is not what EC2 sends", "more than any EC2 page"),
    ),
    EndpointFault(
        "a-page-past-the-cap-undeclared",
        (Fault("DescribeSecurityGroups", body=b" " * (aws_account.MAX_ANSWER_BYTES + 2**20), declare_length=False),),
        "--endpoint-url",
        ("is not what EC2 sends", "more than any EC2 page"),
        memory=aws_account.MAX_ANSWER_BYTES + 32 * 2**20,  # read up to the cap, no further
    ),
    EndpointFault(
        "throttled-every-time",
        (
            Fault(
                "DescribeSecurityGroups", status=503, body=_ec2_error("RequestLimitExceeded", "Request limit exceeded.")
            ),
        ),
        "{endpoint}",
        ("RequestLimitExceeded on DescribeSecurityGroups", "still throttled after 3 tries, run it again later"),
        tries=aws_account.MAX_ATTEMPTS,
    ),
    EndpointFault(
        "500-every-time",
        (Fault("DescribeSecurityGroups", status=500, body=_ec2_error("InternalError", "An internal error.")),),
        "{endpoint}",
        ("InternalError on DescribeSecurityGroups", "a failure on the endpoint's side (HTTP 500) after 3 tries"),
        tries=aws_account.MAX_ATTEMPTS,
    ),
]


def aws_child(url: str, *options: str) -> Outcome:
    return run_seawall(
        ["audit", "--stack", AWS, "--stacks-dir", str(STACKS), "--endpoint-url", url, *options], ADDRESS_SPACE
    )


@pytest.mark.parametrize("case", AWS_FAULTS, ids=[c.id for c in AWS_FAULTS])
def test_an_ec2_fault_ends_the_audit_in_one_line_within_the_bound(
    moto: motoserver.PagingMotoServer, case: EndpointFault
) -> None:
    baseline = aws_child(moto.endpoint_url)  # nothing deployed: an audit that finds every group missing
    assert baseline.code == 1, baseline.stderr
    for fault in case.faults:
        moto.log.fault(fault)
    outcome = aws_child(moto.endpoint_url, "--timeout", f"{TIMEOUT:g}")
    line = the_line(outcome, AWS)
    assert line.startswith(case.where.replace("{endpoint}", moto.endpoint_url) + ": "), line
    for words in case.says:
        assert words in line, line
    assert outcome.seconds < aws_account.worst_case(TIMEOUT) + LOCAL_WORK, outcome.seconds
    assert outcome.peak < baseline.peak + case.memory, (outcome.peak / MiB, baseline.peak / MiB)
    if case.tries is not None:
        assert case.faults[0].seen == case.tries


def test_without_an_endpoint_url_the_deadline_names_the_region_endpoint(
    moto: motoserver.PagingMotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EC2's own endpoint (a loopback one stands in for it, through botocore's setting) answering too slowly."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", moto.endpoint_url)
    moto.log.fault(Fault("DescribeSecurityGroups", body=_groups(""), trickle=0.2))
    start = time.monotonic()
    result = CliRunner().invoke(app, ["audit", "--stack", AWS, "--stacks-dir", str(STACKS), "--timeout", "1"])
    elapsed = time.monotonic() - start
    line = one_error_line(result, AWS)
    assert line == (
        f"ec2 eu-west-1: the audit did not finish within {aws_account.worst_case(1):g} s, the most it waits at "
        "--timeout 1 (the endpoint answers too slowly or not at all); check the endpoint and the network, or raise "
        "--timeout"
    )
    assert elapsed < aws_account.worst_case(1) + LOCAL_WORK
