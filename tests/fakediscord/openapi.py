"""Validate REST requests (and the fake's own responses) against Discord's OpenAPI 3.1 spec.

The spec (``../shared/discord-api-spec/openapi.json`` beside the repository when present, else
the sha256-pinned copy in ``spec/openapi.json.gz``; see ``tests/external.py``) describes the
API relative to the ``https://discord.com/api/v10`` base, so callers pass the path *below*
``/api/v10``.

Checks for a request:

* the path matches a templated path of the spec (literal segments win over ``{params}``, so
  ``/users/@me`` is not taken for ``/users/{user_id}``) and every path parameter validates
  against its schema (e.g. ``SnowflakeType``);
* the method exists for that path;
* the operation's ``security`` is satisfied: routes without an anonymous (``{}``) alternative
  need an ``Authorization: Bot <token>`` header;
* query parameters are declared by the operation and validate (after coercing the query string
  to the declared ``boolean``/``integer``/``number`` type);
* the request content type is one the operation accepts; a JSON body (or the ``payload_json``
  part of a ``multipart/form-data`` body) validates against the operation's requestBody schema
  with a Draft 2020-12 validator (OpenAPI 3.1's dialect); a required body must be present and
  a body must not be sent to an operation without a requestBody.

``$ref`` s are resolved with :mod:`referencing` against the whole document, registered under
``urn:discord-api-spec``. ``anyOf``/``oneOf``/``type: [.., "null"]`` are used exactly as the spec
writes them (the spec's request-body unions are ``anyOf`` annotated ``x-discord-union: oneOf``;
``anyOf`` is what it validates with, and is what Discord's server accepts).

Relaxations (the only ones):

1. ``SnowflakeType`` is ``{"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}`` in the spec, but
   Discord accepts snowflakes sent as JSON integers and discord.py relies on that (e.g.
   ``message_reference.message_id``, ``allowed_mentions.users`` and ``applied_tags`` are sent
   as ints). We validate ``SnowflakeType`` as ``anyOf: [<the spec's string schema>,
   {"type": "integer", "minimum": 0}]``. (No ``oneOf`` in the spec pairs ``SnowflakeType``
   with an integer/untyped branch, so this cannot make a ``oneOf`` ambiguous.)
2. ``format`` is an annotation, not an assertion (the Draft 2020-12 / OpenAPI 3.1 default);
   Discord's own formats (``snowflake``, ``int64``...) are not JSON Schema formats anyway.
3. Undocumented query parameters that discord.py sends and Discord accepts are allowed, per
   operation, in :data:`UNDOCUMENTED_QUERY` (today only ``use_nested_fields`` on
   ``POST /channels/{channel_id}/threads``, sent by ``ForumChannel.create_thread``). Any other
   undeclared query parameter is a violation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from external import openapi_spec_path, read_openapi_spec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DEFAULT_SPEC_PATH = openapi_spec_path()
SPEC_URI = "urn:discord-api-spec"
METHODS = ("get", "put", "post", "patch", "delete")
# Relaxation 3 (see module docstring): (method, template) -> extra accepted query parameters.
UNDOCUMENTED_QUERY: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/channels/{channel_id}/threads"): frozenset({"use_nested_fields"}),
}


@dataclass(frozen=True)
class RouteMatch:
    """A concrete request path matched to a spec path template."""

    template: str
    params: dict[str, str]


@dataclass
class RequestCheck:
    """Everything needed to check one request, independent of the HTTP library."""

    method: str
    path: str  # below /api/v10, percent-encoded as sent (no query string)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None  # mimetype without parameters
    body: Any = None  # parsed JSON body / payload_json, or None
    body_present: bool = False
    body_error: str | None = None  # e.g. "invalid JSON"


@dataclass
class RequestResult:
    """``match``: the spec route (None if the path is not in the spec); ``problems``: every
    violation found; ``status``: what Discord would answer instead of processing the request
    (404 unknown route, 405 wrong method, 400 invalid path parameter or body), else None."""

    match: RouteMatch | None
    problems: list[str]
    status: int | None


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.cache
def _load_spec(path: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(read_openapi_spec(Path(path)))
    schemas = spec["components"]["schemas"]
    # Relaxation 1 (see module docstring): integer snowflakes are accepted by Discord.
    schemas["SnowflakeType"] = {
        "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}],
    }
    return spec


class OpenAPIValidator:
    """Matches and validates requests against the spec. Validators are compiled lazily."""

    def __init__(self, spec_path: str | Path = DEFAULT_SPEC_PATH) -> None:
        self.spec = _load_spec(str(spec_path))
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._templates = [
            (template, template.strip("/").split("/")) for template in self.spec["paths"]
        ]

    # -- schema helpers -------------------------------------------------------------------
    def validator_for(self, pointer: str) -> Draft202012Validator:
        """A validator for the schema at ``pointer`` (a JSON pointer into the spec)."""
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry
            )
            self._validators[pointer] = validator
        return validator

    def schema_errors(self, pointer: str, instance: Any, where: str) -> list[str]:
        """Human-readable errors of ``instance`` against the schema at ``pointer``."""
        errors = list(self.validator_for(pointer).iter_errors(instance))
        if not errors:
            return []
        best = best_match(errors)
        # descend into anyOf/oneOf failures to the most relevant branch error
        while best.context:
            best = best_match(best.context)
        location = "/".join(str(p) for p in best.absolute_path) or "<root>"
        message = (
            best.message
            if len(best.message) < 300
            else (best.message[:150] + " ... " + best.message[-120:])
        )
        return [f"{where}: {location}: {message} ({len(errors)} error(s))"]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    # -- routing ----------------------------------------------------------------------------
    def match_path(self, path: str) -> RouteMatch | None:
        """The best spec template for ``path`` (most literal segments wins)."""
        segments = [unquote(s) for s in path.strip("/").split("/")]
        best: tuple[int, RouteMatch] | None = None
        for template, parts in self._templates:
            if len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            literals = 0
            for part, segment in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    if not segment:
                        break
                    params[part[1:-1]] = segment
                elif part == segment:
                    literals += 1
                else:
                    break
            else:
                if best is None or literals > best[0]:
                    best = (literals, RouteMatch(template, params))
        return None if best is None else best[1]

    def operation(self, template: str, method: str) -> dict[str, Any] | None:
        op = self.spec["paths"][template].get(method.lower())
        return op if isinstance(op, dict) else None

    # -- request validation ----------------------------------------------------------------
    def check_request(self, req: RequestCheck) -> RequestResult:
        """Match and validate one request; see :class:`RequestResult`."""
        where = f"{req.method} {req.path}"
        match = self.match_path(req.path)
        if match is None:
            return RequestResult(None, [f"{where}: no such route in the OpenAPI spec"], 404)
        op = self.operation(match.template, req.method)
        if op is None:
            return RequestResult(match, [f"{where}: method not allowed for {match.template}"], 405)
        path_problems, query_problems = self._check_params(req, match, op, where)
        body_problems = self._check_body(req, match, op, where)
        problems = path_problems + query_problems + self._check_security(req, op, where)
        problems += body_problems
        return RequestResult(match, problems, 400 if path_problems or body_problems else None)

    def _parameters(self, template: str, op: dict[str, Any]) -> list[dict[str, Any]]:
        params = self.spec["paths"][template].get("parameters", []) + op.get("parameters", [])
        return [self._resolve(p) for p in params]

    def _check_params(
        self, req: RequestCheck, match: RouteMatch, op: dict[str, Any], where: str
    ) -> tuple[list[str], list[str]]:
        path_problems: list[str] = []
        declared = {(p["in"], p["name"]): p for p in self._parameters(match.template, op)}
        for name, value in match.params.items():
            param = declared.get(("path", name))
            if param is None:
                continue
            path_problems += self._param_errors(param, value, f"{where}: path parameter {name!r}")
        problems: list[str] = []
        for name, value in req.query.items():
            param = declared.get(("query", name))
            if param is None:
                extra = UNDOCUMENTED_QUERY.get((req.method.upper(), match.template), frozenset())
                if name not in extra:
                    problems.append(f"{where}: undeclared query parameter {name!r}")
                continue
            problems += self._param_errors(param, value, f"{where}: query parameter {name!r}")
        for (location, name), param in declared.items():
            if location == "query" and param.get("required") and name not in req.query:
                problems.append(f"{where}: missing required query parameter {name!r}")
        return path_problems, problems

    def _param_errors(self, param: dict[str, Any], raw: str, where: str) -> list[str]:
        schema = self._resolve(param.get("schema", {}))
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        value: Any = raw
        if "boolean" in types:
            lowered = raw.lower()
            if lowered in ("true", "1"):
                value = True
            elif lowered in ("false", "0"):
                value = False
        elif "integer" in types:
            try:
                value = int(raw)
            except ValueError:
                value = raw
        elif "number" in types:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        # Local "#/components/..." refs must resolve against the spec document.
        validator = Draft202012Validator(
            _rebase_refs(param.get("schema", {})), registry=self._registry
        )
        errors = list(validator.iter_errors(value))
        if errors:
            return [f"{where}={raw!r}: {best_match(errors).message[:200]}"]
        return []

    def _check_security(self, req: RequestCheck, op: dict[str, Any], where: str) -> list[str]:
        security = op.get("security")
        auth = req.headers.get("Authorization")
        if auth is not None and not auth.startswith("Bot "):
            return [f"{where}: Authorization header must be 'Bot <token>'"]
        if security is None or auth is not None:
            return []
        if any(not requirement for requirement in security):
            return []  # an anonymous alternative ({}) exists, e.g. webhook/interaction routes
        return [f"{where}: route requires an Authorization header (security: {security})"]

    def _check_body(
        self, req: RequestCheck, match: RouteMatch, op: dict[str, Any], where: str
    ) -> list[str]:
        request_body = op.get("requestBody")
        if request_body is None:
            if req.body_present:
                return [f"{where}: operation takes no request body but one was sent"]
            return []
        request_body = self._resolve(request_body)
        if not req.body_present:
            if request_body.get("required"):
                return [f"{where}: missing required request body"]
            return []
        content = request_body.get("content", {})
        if req.content_type not in content:
            return [
                f"{where}: content type {req.content_type!r} not accepted "
                f"(spec allows {sorted(content)})"
            ]
        if req.body_error is not None:
            return [f"{where}: {req.body_error}"]
        pointer = _pointer(
            "paths",
            match.template,
            req.method.lower(),
            "requestBody",
            "content",
            req.content_type,
            "schema",
        )
        if "$ref" in op["requestBody"]:
            ref = op["requestBody"]["$ref"].removeprefix("#")
            pointer = ref + _pointer("content", req.content_type, "schema")
        return self.schema_errors(pointer, req.body, f"{where}: request body")

    # -- response validation (self-check of the fake) ------------------------------------
    def check_response(self, method: str, template: str, status: int, body: Any) -> list[str]:
        """Validate a JSON response the fake produced against the documented response."""
        where = f"response {status} to {method} {template}"
        op = self.operation(template, method)
        if op is None:
            return []
        responses = op.get("responses", {})
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        if key not in responses:
            return [f"{where}: status not documented (documented: {sorted(responses)})"]
        response = self._resolve(responses[key])
        content = response.get("content")
        if not content:
            if body is not None:
                return [f"{where}: documented without a body but the fake sent one"]
            return []
        if "application/json" not in content:
            return []
        pointer = _pointer("paths", template, method.lower(), "responses", key)
        if "$ref" in responses[key]:
            pointer = responses[key]["$ref"].removeprefix("#")
        pointer += _pointer("content", "application/json", "schema")
        return self.schema_errors(pointer, body, where)


def _rebase_refs(schema: Any) -> Any:
    """Copy ``schema`` with local ``#/...`` refs pointing into the registered spec."""
    if isinstance(schema, dict):
        out = {k: _rebase_refs(v) for k, v in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = SPEC_URI + ref
        return out
    if isinstance(schema, list):
        return [_rebase_refs(v) for v in schema]
    return schema
