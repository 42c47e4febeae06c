"""Check emulator traffic against Twilio's own OpenAPI documents (openapi-core).

What is checked, and why:
- 2xx/204 answers: the request (path, query, form body, security) and the response (status, body
  schema) against the operation in the document that owns the path prefix.
- 4xx/5xx answers: Twilio's documents do not describe error bodies, and rejected requests are often
  deliberately invalid, so only the error body is checked, against Twilio's error shape below.
Host names are ignored: the request is presented to openapi-core on the document's own server.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from multidict import CIMultiDict

_log = logging.getLogger(__name__)

DOCUMENTS = {
    "/2010-04-01/": "twilio_api_v2010.json",
    "/v1/": "twilio_trunking_v1.json",
    "/v2/": "twilio_routes_v2.json",
}
ERROR_KEYS = {"code": int, "message": str, "more_info": str, "status": int}
# Formats openapi-core knows; Twilio's own (phone-number, http-method, uri-map...) are accepted as-is.
_KNOWN_FORMATS = frozenset(
    {
        "date-time",
        "date",
        "uri",
        "int32",
        "int64",
        "float",
        "double",
        "byte",
        "binary",
        "password",
        "email",
        "uuid",
    }
)
# Form fields the emulator accepts as "" to clear a value although the spec's pattern forbids it,
# dropped before request checks. EmergencyAddressSid= always: Twilio's emergency-calling pages say to
# "Set Emergency Address to Null", which a form can only say as "". TrunkSid= (detaches the number)
# only outside strict mode: there the emulator refuses it and the checker holds it to the spec.
ALWAYS_CLEARABLE = frozenset({"EmergencyAddressSid"})
EMPTY_MEANS_CLEAR = frozenset({"TrunkSid"})


@dataclass
class _Parameters:
    query: Mapping[str, Any]
    header: Mapping[str, Any]
    cookie: Mapping[str, Any] = field(default_factory=dict)
    path: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, location: str) -> Any:
        return getattr(self, location)


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: _Parameters
    body: bytes | None
    content_type: str


@dataclass
class _Response:
    status_code: int
    content_type: str
    headers: Mapping[str, Any]
    data: bytes | None


@dataclass(frozen=True)
class Exchange:
    """One request/response pair, captured by the app middleware."""

    method: str
    path: str
    query: Any  # a MultiDict: openapi-core needs getlist()
    query_string: str
    headers: Mapping[str, str]
    body: bytes | None
    content_type: str
    status: int
    response_body: bytes | None
    response_content_type: str


class ContractChecker:
    def __init__(self, openapi_dir: str, strict: Callable[[], bool] = lambda: False) -> None:
        self._strict = strict
        from openapi_core import Config, OpenAPI  # imported lazily: only needed with a spec dir

        self._apis: dict[str, tuple[Any, str]] = {}
        for prefix, filename in DOCUMENTS.items():
            path = Path(openapi_dir) / filename
            document = _slimmed(json.loads(path.read_text()))
            server = document["servers"][0]["url"]
            custom = _formats(document) - _KNOWN_FORMATS
            config = Config(
                extra_format_validators={name: _accept for name in custom},
                extra_format_unmarshallers={name: _identity for name in custom},
            )
            self._apis[prefix] = (OpenAPI.from_dict(document, config=config), server)
        self.violations: list[dict[str, Any]] = []

    def check(self, ex: Exchange) -> None:
        try:
            problems = self._problems(ex)
        except Exception as exc:  # a checker bug must not break the emulator; report it instead
            _log.exception("contract check crashed")
            problems = [f"checker error: {exc!r}"]
        for problem in problems:
            self.violations.append(
                {
                    "time": time.time(),
                    "method": ex.method,
                    "path": ex.path,
                    "query": ex.query_string,
                    "status": ex.status,
                    "problem": problem,
                }
            )

    def _problems(self, ex: Exchange) -> list[str]:
        if ex.status >= 400:
            return _error_body_problems(ex.response_body)
        api_server = next((v for p, v in self._apis.items() if ex.path.startswith(p)), None)
        if api_server is None:
            return [f"no OpenAPI document covers {ex.path}"]
        api, server = api_server
        headers = CIMultiDict(ex.headers)
        request = _Request(
            host_url=server,
            path=ex.path,
            method=ex.method.lower(),
            parameters=_Parameters(query=ex.query, header=headers),
            body=_without_clearing_fields(
                ex.body, ALWAYS_CLEARABLE if self._strict() else ALWAYS_CLEARABLE | EMPTY_MEANS_CLEAR
            )
            or None,
            content_type=ex.content_type or "application/x-www-form-urlencoded",
        )
        problems = []
        try:
            api.validate_request(request)
        except Exception as exc:  # openapi-core raises one error per failed check
            problems.append(f"request: {_describe(exc)}")
        response = _Response(
            status_code=ex.status,
            content_type=ex.response_content_type or "application/json",
            headers={},
            data=ex.response_body or None,
        )
        try:
            api.validate_response(request, response)
        except Exception as exc:
            problems.append(f"response: {_describe(exc)}")
        return problems


def _slimmed(document: dict[str, Any]) -> dict[str, Any]:
    """Drop what costs openapi-core time but cannot fail here: response headers (all optional CORS
    headers the emulator does not send) and examples. Speeds up each check several times."""
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                response.pop("headers", None)
                for media in response.get("content", {}).values():
                    media.pop("examples", None)
    return document


def _formats(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        for value in node.values():
            found |= _formats(value)
        return found
    if isinstance(node, list):
        return set().union(*(_formats(item) for item in node)) if node else set()
    return set()


def _accept(value: Any) -> bool:
    return True


def _identity(value: Any) -> Any:
    return value


def _without_clearing_fields(body: bytes | None, fields: frozenset[str]) -> bytes | None:
    if not body:
        return body
    pairs = parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not (k in fields and v == "")]
    return body if len(kept) == len(pairs) else urlencode(kept).encode()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    causes = []
    cause = exc.__cause__
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            causes += [f"{'/'.join(map(str, e.path))}: {e.message}" for e in schema_errors]
        else:
            causes.append(str(cause))
        cause = cause.__cause__
    return "; ".join([text, *causes])


def _error_body_problems(body: bytes | None) -> list[str]:
    try:
        decoded = json.loads(body or b"")
    except ValueError:
        return ["error body is not JSON"]
    if not isinstance(decoded, dict):
        return ["error body is not a JSON object"]
    return [
        f"error body: {key} missing or not {kind.__name__}"
        for key, kind in ERROR_KEYS.items()
        if not isinstance(decoded.get(key), kind) or isinstance(decoded.get(key), bool)
    ]
