"""`seawall audit` against loopback endpoints that misbehave: one that never answers, one that throttles (AWS and Azure).

A silent endpoint must end the audit with one line and exit 2 within the bound `--help` states,
after a bounded number of tries (counted by the server's accepted connections, so the tests need
not wait out the real default); throttling must still be retried.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import armserver
import pytest
from armserver import ArmServer
from builders import STACKS
from seawall.aws import account
from seawall.aws.account import DEFAULT_TIMEOUT, MAX_ATTEMPTS, connect, worst_case
from seawall.azure import account as azure_account
from seawall.cli import app
from typer.testing import CliRunner, Result

DMZ = "dmz-aws"
# Compiling the stack and starting botocore, on a slow machine, on top of the network waits.
LOCAL_WORK = 2.0
HINT = "check --endpoint-url, --region and the network, or raise --timeout"


class SilentEndpoint:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte; counts the connections."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so that stop() is noticed
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(conn)  # held open, never answered
            self.accepted += 1

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys; no profile, config file, retry setting, proxy or instance metadata can leak in."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture()
def silent() -> Iterator[SilentEndpoint]:
    endpoint = SilentEndpoint()
    yield endpoint
    endpoint.stop()


def audit(url: str, *options: str) -> tuple[Result, float]:
    """``seawall audit`` through the CLI; the result and the seconds it took."""
    args = ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--endpoint-url", url, *options]
    start = time.monotonic()
    result = CliRunner().invoke(app, args)
    return result, time.monotonic() - start


def the_one_error(result: Result) -> str:
    """The error line, after checking it is the only one and nothing else but the opening status line was said."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception that escaped
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    *before, last = result.stderr.splitlines()
    assert all(line.startswith(f"auditing {DMZ} ") for line in before) and len(before) <= 1, result.stderr
    assert last.startswith("seawall: error: "), result.stderr
    return last


def test_an_endpoint_that_never_answers_ends_in_one_line_and_exit_2(silent: SilentEndpoint) -> None:
    result, elapsed = audit(silent.url, "--timeout", "1")
    assert the_one_error(result) == (
        f"seawall: error: --endpoint-url: {silent.url}/ did not answer within 1 s ({MAX_ATTEMPTS} tries); {HINT}"
    )
    assert silent.accepted == MAX_ATTEMPTS  # retried, but a bounded number of times
    assert elapsed < worst_case(1) + LOCAL_WORK


@pytest.mark.parametrize("value", ["0", "-1", "0.0", "nan", "inf"])
def test_a_timeout_that_is_not_seconds_above_zero_is_refused_before_any_call(
    silent: SilentEndpoint, value: str
) -> None:
    result, _ = audit(silent.url, "--timeout", value)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"seawall: error: --timeout: {float(value):g} is not a number of seconds above 0; e.g. --timeout 10"
    ]
    assert silent.accepted == 0


def test_without_timeout_the_default_bounds_a_silent_endpoint(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default is read when the audit runs: a short one here proves the path, the tries prove the bound."""
    monkeypatch.setattr(account, "DEFAULT_TIMEOUT", 0.5)
    result, elapsed = audit(silent.url)
    assert the_one_error(result).endswith(f"did not answer within 0.5 s ({MAX_ATTEMPTS} tries); {HINT}")
    assert silent.accepted == MAX_ATTEMPTS
    assert elapsed < worst_case(0.5) + LOCAL_WORK


def test_the_real_default_is_a_few_seconds_and_well_under_a_minute_as_help_says() -> None:
    config = connect("eu-west-1", "http://127.0.0.1:9", None).meta.config  # no call is made
    assert config.connect_timeout == config.read_timeout == DEFAULT_TIMEOUT <= 10
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert worst_case(DEFAULT_TIMEOUT) <= 40  # 3 tries of 5 s + 5 s, and at most 3 s of back-off
    shown = " ".join(CliRunner().invoke(app, ["audit", "--help"]).stdout.split())
    assert f"ends the audit within {worst_case(DEFAULT_TIMEOUT):g} s at the default" in shown


@pytest.mark.parametrize(("configured", "tries"), [("1", 1), ("2", 2), ("10", MAX_ATTEMPTS)])
def test_aws_max_attempts_may_lower_the_tries_but_not_raise_them(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch, configured: str, tries: int
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", configured)
    result, elapsed = audit(silent.url, "--timeout", "0.5")
    assert the_one_error(result).endswith(f"within 0.5 s ({tries} tr{'y' if tries == 1 else 'ies'}); {HINT}")
    assert silent.accepted == tries
    assert elapsed < worst_case(0.5, tries) + LOCAL_WORK


def test_a_timeout_without_an_endpoint_url_names_the_region_endpoint(
    silent: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --endpoint-url: the line names EC2's own endpoint (a loopback one stands in for it here)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", silent.url)  # botocore's own setting, not --endpoint-url
    start = time.monotonic()
    result = CliRunner().invoke(app, ["audit", "--stack", DMZ, "--stacks-dir", str(STACKS), "--timeout", "0.5"])
    elapsed = time.monotonic() - start
    assert the_one_error(result) == (
        f"seawall: error: ec2 eu-west-1: {silent.url}/ did not answer within 0.5 s ({MAX_ATTEMPTS} tries); "
        "check --region and the network, or raise --timeout"
    )
    assert silent.accepted == MAX_ATTEMPTS
    assert elapsed < worst_case(0.5) + LOCAL_WORK


# --- throttling ----------------------------------------------------------------------------------------------------

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
EMPTY = {  # what an account without the stack answers
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeManagedPrefixLists": "prefixListSet",
}
THROTTLED = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    "<Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>"
)


class ThrottlingEc2(ThreadingHTTPServer):
    """Answers the first ``throttle`` requests as EC2 does when throttling (503), then as an empty account."""

    def __init__(self, throttle: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.throttle = throttle
        self.actions: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: ThrottlingEc2

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        action = parse_qs(body)["Action"][0]
        self.server.actions.append(action)
        if len(self.server.actions) <= self.server.throttle:
            status, text = 503, THROTTLED
        else:
            status, text = 200, f'<{action}Response xmlns="{EC2_NS}"><requestId>r</requestId><{EMPTY[action]}/>'
            text += f"</{action}Response>"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def test_throttling_is_still_retried_within_the_tries() -> None:
    server = ThrottlingEc2(throttle=MAX_ATTEMPTS - 1)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result, _ = audit(url, "--timeout", "5", "--format", "json")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.exit_code == 1, result.stderr  # the audit got through: nothing of the stack is deployed
    assert '"missing-group"' in result.stdout
    assert server.actions == ["DescribeSecurityGroups"] * MAX_ATTEMPTS + ["DescribeManagedPrefixLists"]


# --- Azure ---------------------------------------------------------------------------------------------------------

AZURE = "dmz-azure"
SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


@pytest.fixture()
def tokens(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ArmServer]:
    """An ARM server for the managed-identity token only; the ARM endpoint under test is another one."""
    server = armserver.start()
    armserver.isolate(monkeypatch, tmp_path, server)
    server.add_subscription(SUBSCRIPTION)
    yield server
    server.stop()


def azure_audit(url: str, *options: str) -> tuple[Result, float]:
    args = ["audit", "--stack", AZURE, "--stacks-dir", str(STACKS), "--subscription", SUBSCRIPTION]
    start = time.monotonic()
    result = CliRunner().invoke(app, [*args, "--endpoint-url", url, *options])
    return result, time.monotonic() - start


def the_azure_error(result: Result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    *before, last = result.stderr.splitlines()
    assert all(line.startswith(f"auditing {AZURE} ") for line in before) and len(before) <= 1, result.stderr
    return last


def test_an_arm_endpoint_that_never_answers_ends_in_one_line_and_exit_2(
    tokens: ArmServer, silent: SilentEndpoint
) -> None:
    result, elapsed = azure_audit(silent.url, "--timeout", "1")
    assert the_azure_error(result) == (
        f"seawall: error: --endpoint-url: {silent.url} did not answer within 1 s ({azure_account.MAX_ATTEMPTS} tries); "
        "check --endpoint-url and the network, or raise --timeout"
    )
    assert silent.accepted == azure_account.MAX_ATTEMPTS
    assert elapsed < azure_account.worst_case(1) + LOCAL_WORK


def test_the_azure_default_is_a_few_seconds_and_stated_in_help(tokens: ArmServer) -> None:
    client = azure_account.connect(SUBSCRIPTION, "http://127.0.0.1:9")  # no request is made
    assert client.timeout == azure_account.DEFAULT_TIMEOUT <= 10
    assert azure_account.worst_case(azure_account.DEFAULT_TIMEOUT) <= 60
    shown = " ".join(CliRunner().invoke(app, ["audit", "--help"]).stdout.split())
    assert f"{azure_account.worst_case(azure_account.DEFAULT_TIMEOUT):g} s on Azure" in shown


def test_arm_asking_for_a_long_wait_ends_the_audit_at_once(tokens: ArmServer) -> None:
    tokens.throttle(1, 600)
    result, elapsed = azure_audit(tokens.endpoint_url)
    assert the_azure_error(result) == (
        f"seawall: error: {tokens.endpoint_url}: ARM throttled NetworkSecurityGroups_List and asks to wait 600 s, longer than "
        f"the audit waits ({azure_account.MAX_RETRY_AFTER:g} s); run it again later"
    )
    assert elapsed < LOCAL_WORK + 2


def test_arm_throttling_past_the_tries_is_one_line(tokens: ArmServer) -> None:
    tokens.throttle(azure_account.MAX_ATTEMPTS, 0.1)
    result, _ = azure_audit(tokens.endpoint_url)
    assert the_azure_error(result).startswith(
        f"seawall: error: {tokens.endpoint_url}: SubscriptionRequestsThrottled (HTTP 429) on NetworkSecurityGroups_List: "
    )
    assert result.stderr.rstrip().endswith(
        f"still throttled after {azure_account.MAX_ATTEMPTS} tries, run it again later"
    )
