"""REST plumbing: routing under /api/v10, body parsing (JSON and multipart ``payload_json``),
bot-token auth, OpenAPI validation and recording of every request."""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .openapi import OpenAPIValidator, RequestCheck

if TYPE_CHECKING:
    from .server import FakeDiscord

API_PREFIX = "/api/v10"


class ApiError(Exception):
    """Raised by handlers to answer with Discord's error JSON."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


MISSING_PERMISSIONS = ApiError(403, 50013, "Missing Permissions")


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiRequest:
    method: str
    path: str  # below /api/v10
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


@dataclass
class RecordedRequest:
    """A REST request as the fake saw it (``headers`` never carry the token itself)."""

    method: str
    path: str  # below /api/v10, as sent
    template: str | None  # the OpenAPI path template it matched
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # parsed JSON body, or the payload_json of a multipart body
    files: list[str]  # "field=filename (n bytes)" of multipart file parts
    time: float  # time.monotonic()
    status: int = 0
    response: Any = None
    violations: list[str] = field(default_factory=list)


Handler = Callable[[ApiRequest], Awaitable[tuple[int, Any]]]


@dataclass
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


class Router:
    def __init__(self) -> None:
        self.routes: list[_Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        parts = []
        for segment in pattern.split("/"):
            param = re.fullmatch(r"\{(\w+)\}", segment)
            parts.append(f"(?P<{param.group(1)}>[^/]+)" if param else re.escape(segment))
        regex = re.compile("^" + "/".join(parts) + "$")
        self.routes.append(_Route(method, pattern, regex, handler, auth))
        # literal segments first, so /messages/@original wins over /messages/{message_id}
        self.routes.sort(key=lambda r: -sum(not s.startswith("{") for s in r.pattern.split("/")))

    def match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self.routes:
            m = route.regex.match(path)
            if m is not None and route.method == method:
                return route, m.groupdict()
        return None


def json_response(status: int, body: Any) -> web.Response:
    if body is None:
        return web.Response(status=status)
    # Exactly "application/json": discord.py compares the header verbatim.
    return web.Response(
        status=status, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def error_body(error: ApiError) -> dict[str, Any]:
    return {"message": error.message, "code": error.code}


class RestFrontend:
    """The aiohttp handler for everything under /api/v10."""

    def __init__(self, fake: FakeDiscord, validator: OpenAPIValidator, router: Router) -> None:
        self.fake = fake
        self.validator = validator
        self.router = router

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        raw_path = request.raw_path.split("?", 1)[0]
        path = raw_path[len(API_PREFIX) :] or "/"
        query = {k: v for k, v in request.query.items()}
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        auth = request.headers.get("Authorization")
        if auth is not None:
            headers["Authorization"] = (
                "Bot <valid token>" if auth == f"Bot {fake.token}" else "<invalid token>"
            )
        body, body_error, files = await self._read_body(request)
        rec = RecordedRequest(
            request.method,
            path,
            None,
            query,
            headers,
            body,
            [f"{f.field}={f.filename} ({len(f.data)} bytes)" for f in files],
            time.monotonic(),
        )
        fake.requests.append(rec)
        check = RequestCheck(
            method=request.method,
            path=path,
            query=query,
            headers=request.headers,
            content_type=request.content_type if request.body_exists else None,
            body=body,
            body_present=request.body_exists and request.content_length != 0,
            body_error=body_error,
        )
        result = self.validator.check_request(check)
        rec.template = result.match.template if result.match else None
        rec.violations = list(result.problems)
        fake.violations.extend(result.problems)

        found = self.router.match(request.method, path)
        if found is not None and found[0].auth and auth != f"Bot {fake.token}":
            status, payload = 401, {"message": "401: Unauthorized", "code": 0}
        elif result.status == 400:  # Discord rejects what its schema rejects
            status, payload = (
                400,
                {
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {"_errors": [{"code": 50035, "message": p} for p in result.problems]},
                },
            )
        elif result.status == 405:
            status, payload = 405, {"message": "405: Method Not Allowed", "code": 0}
        elif found is None:
            status, payload = 404, {"message": "Unknown route", "code": 0}
        else:
            route, params = found
            status, payload = await self._call(
                route.handler, ApiRequest(request.method, path, params, query, body, files)
            )
        rec.status, rec.response = status, payload
        if (
            status == 404
            and payload == {"message": "Unknown route", "code": 0}
            and rec.template is not None
        ):
            violation = f"{request.method} {path}: the fake implements no such route"
            rec.violations.append(violation)
            fake.violations.append(violation)
        if rec.template is not None and isinstance(payload, dict | list | type(None)):
            fake.response_violations.extend(
                self.validator.check_response(request.method, rec.template, status, payload)
            )
        fake.notify()
        return json_response(status, payload)

    async def _call(self, handler: Handler, req: ApiRequest) -> tuple[int, Any]:
        try:
            return await handler(req)
        except ApiError as exc:
            return exc.status, error_body(exc)
        except Exception:  # a bug in the fake: make it loud but keep discord.py from retrying
            self.fake.violations.append(
                f"FAKE BUG in {req.method} {req.path}:\n{traceback.format_exc()}"
            )
            return 400, {"message": "fakediscord internal error (see fake.violations)", "code": 0}

    async def _read_body(self, request: web.Request) -> tuple[Any, str | None, list[UploadedFile]]:
        if not request.body_exists:
            return None, None, []
        if request.content_type == "multipart/form-data":
            payload: Any = None
            error: str | None = "multipart body without a payload_json part"
            files: list[UploadedFile] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                data = await part.read()  # type: ignore[union-attr]
                name = part.name or ""  # type: ignore[union-attr]
                if name == "payload_json":
                    try:
                        payload, error = json.loads(data), None
                    except ValueError:
                        error = "payload_json is not valid JSON"
                else:
                    files.append(
                        UploadedFile(
                            name,
                            part.filename or "",  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    )
            return payload, error, files
        raw = await request.read()
        if request.content_type != "application/json":
            return None, f"unsupported content type {request.content_type!r}", []
        try:
            return json.loads(raw), None, []
        except ValueError:
            return None, "body is not valid JSON", []
