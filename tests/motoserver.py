"""moto's ThreadedMotoServer on loopback, with the paging AWS does and a log of every EC2 action asked.

moto 5 answers ``DescribeSecurityGroups``, ``DescribeSecurityGroupRules``,
``DescribeManagedPrefixLists`` and ``GetManagedPrefixListEntries`` with every item
at once: it ignores ``MaxResults`` and never returns a ``NextToken``. A client that
forgets to paginate would pass against plain moto and miss rules against AWS. So
this server pages those four answers itself (``MaxResults`` items, an opaque
``NextToken``), as EC2 does, and records each request's action and parameters so
tests can check what a client asked for (several pages; never a write).

Faults are injected in front of moto with :meth:`PagingMiddleware.fault`, taking the
``armserver.Fault`` records (their ``path`` is a regex searched in the EC2 action):
a status and body instead of moto's answer (throttling, 5xx, malformed XML), an answer
sent one byte at a time, or none at all.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

# The list element of each paged action's answer (EC2 query-protocol XML).
PAGED_LISTS = {
    "DescribeSecurityGroups": "securityGroupInfo",
    "DescribeSecurityGroupRules": "securityGroupRuleSet",
    "DescribeManagedPrefixLists": "prefixListSet",
    "GetManagedPrefixListEntries": "entrySet",
}
_TOKEN = "page:"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Request:
    """One EC2 request as the server saw it: the action and its flattened query parameters."""

    action: str
    params: dict[str, str]


class PagingMiddleware:
    """WSGI middleware: records EC2 actions; pages the answers moto does not page."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.requests: list[Request] = []
        self.faults: list[Any] = []  # armserver.Fault records
        self._lock = threading.Lock()

    def fault(self, fault: Any) -> Any:
        with self._lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, action: str) -> Any:
        with self._lock:
            for fault in self.faults:
                if (fault.times is None or fault.seen < fault.times) and re.search(fault.path, action):
                    fault.seen += 1
                    return fault
        return None

    def _misbehave(self, fault: Any, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if fault.silent:
            time.sleep(600)  # the client gives up long before; the thread is a daemon
            return []
        if fault.body is not None or fault.status != 200:
            data, status, headers = fault.body or b"", f"{fault.status} Fault", [("Content-Type", "text/xml")]
        else:
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
                captured["status"], captured["headers"] = status, headers
                return lambda _data: None

            data = b"".join(self.app(environ, capture))
            status = captured["status"]
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        length = [("Content-Length", str(len(data)))] if fault.declare_length else []
        start_response(status, [*headers, *fault.headers.items(), *length])
        if not fault.trickle:
            return [data[start : start + 2**20] for start in range(0, len(data), 2**20)]

        def trickle() -> Iterable[bytes]:
            for byte in data:
                time.sleep(fault.trickle)
                yield bytes([byte])

        return trickle()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        params = dict(parse_qsl(body.decode("utf-8", "replace"))) if body else {}
        action = params.get("Action", "")
        if action and "Version" in params:
            with self._lock:
                self.requests.append(Request(action, params))
        fault = self._take_fault(action) if action else None
        if fault is not None:
            return self._misbehave(fault, environ, start_response)
        if action not in PAGED_LISTS or "MaxResults" not in params:
            return self.app(environ, start_response)

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        answer = b"".join(self.app(environ, capture))
        if not captured["status"].startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [answer]
        paged = _page(answer, PAGED_LISTS[action], int(params["MaxResults"]), params.get("NextToken"))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(paged)))])
        return [paged]

    def actions(self) -> list[str]:
        with self._lock:
            return [r.action for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


def _page(answer: bytes, list_name: str, size: int, token: str | None) -> bytes:
    root = ET.fromstring(answer)
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    ET.register_namespace("", namespace)
    qualified = f"{{{namespace}}}" if namespace else ""
    listing = root.find(qualified + list_name)
    if listing is None:
        return answer
    items = list(listing)
    start = int(token.removeprefix(_TOKEN)) if token else 0
    for item in items:
        listing.remove(item)
    listing.extend(items[start : start + size])
    if start + size < len(items):
        ET.SubElement(root, qualified + "nextToken").text = f"{_TOKEN}{start + size}"
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root)  # non-ASCII as character references


class PagingMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose app is wrapped in :class:`PagingMiddleware` (``self.log``).

    Pass ``port=0``: the OS picks a free port when the socket is bound, so two test
    runs never race for one; :attr:`endpoint_url` reports it.
    """

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.log = PagingMiddleware(DomainDispatcherApplication(create_backend_app))

    # ThreadedMotoServer builds its app inside this method; the override only wraps that app.
    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self.log, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every resource (moto's own reset API) and the request log."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["status"] == "ok"
        self.log.clear()

    def require_auth_after(self, requests: float) -> None:
        """moto checks credentials and IAM policies once ``requests`` more requests have been served."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=str(requests).encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},  # moto reads the raw body; a form body would be parsed away
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["status"] == "ok"


def start() -> PagingMotoServer:
    """A started server on 127.0.0.1 at a free port; the werkzeug request log is silenced."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = PagingMotoServer()
    server.start()
    return server
