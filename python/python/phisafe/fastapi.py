"""FastAPI (and any ASGI app) integration.

- :class:`PHIMiddleware`: a pure ASGI middleware (no ``BaseHTTPMiddleware``,
  so contextvars and streaming keep working) that logs or redacts PHI in
  JSON request and response bodies up to a size limit. Larger bodies and
  streaming responses pass through untouched.
- :func:`validation_error_handler`: 422 responses without the submitted
  ``input`` (FastAPI echoes it by default, PHI included).
- :func:`lifespan`, :func:`get_scanner`, :func:`get_cipher`: build the
  scanner and cipher once at startup and hand them to endpoints with
  ``Depends``.
- :func:`install`: all of the above on an app, plus the logging filter.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, AsyncIterator, Awaitable, Callable, MutableMapping, Optional

from starlette.requests import Request

from phisafe import FieldCipher, Scanner, default_scanner
from phisafe.logging import install as install_logging

__all__ = [
    "PHIMiddleware",
    "get_cipher",
    "get_scanner",
    "install",
    "lifespan",
    "validation_error_handler",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("phisafe.fastapi")


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for k, v in headers:
        if k.lower() == b"content-type":
            return v.split(b";")[0].strip().lower() in (b"application/json",) or v.endswith(b"+json")
    return False


def _set_length(headers: list[tuple[bytes, bytes]], n: int) -> list[tuple[bytes, bytes]]:
    out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    out.append((b"content-length", str(n).encode()))
    return out


class PHIMiddleware:
    """Scans JSON bodies of at most ``max_body`` bytes.

    ``requests`` and ``responses`` are each ``"off"``, ``"log"`` (a warning
    naming the entities and JSON paths found, never the values) or
    ``"redact"`` (the body is replaced by its redacted JSON, same shape,
    and ``content-length`` fixed). Defaults: log requests, redact
    responses.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        scanner: Optional[Scanner] = None,
        requests: str = "log",
        responses: str = "redact",
        max_body: int = 1 << 20,
    ) -> None:
        for mode in (requests, responses):
            if mode not in ("off", "log", "redact"):
                raise ValueError("modes are 'off', 'log' or 'redact'")
        self.app = app
        self.scanner = scanner
        self.requests = requests
        self.responses = responses
        self.max_body = max_body

    def _scanner(self) -> Scanner:
        return self.scanner or default_scanner()

    def _handle(self, body: bytes, mode: str, where: str, path: str) -> Optional[bytes]:
        """The replacement body, or None to keep it."""
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        found = self._scanner().scan_json(doc)
        if not found:
            return None
        if mode == "log":
            # Paths carry values too (/patients/{email}); keys in a JSON
            # path can be names, so the summary is redacted as well.
            scanner = self._scanner()
            summary = ", ".join(sorted({f"{f.entity}@{f.path}" for f in found}))
            _log.warning(
                "PHI in %s body of %s: %s", where, scanner.redact(path), scanner.redact(summary)
            )
            return None
        red = self._scanner().redact_json(doc)
        return json.dumps(red, ensure_ascii=False, separators=(",", ":")).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.requests != "off" and _is_json(scope.get("headers", [])):
            receive = await self._wrap_request(scope, receive, path)
        if self.responses == "off":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._wrap_send(send, path))

    async def _wrap_request(self, scope: Scope, receive: Receive, path: str) -> Receive:
        chunks: list[bytes] = []
        size = 0
        more = True
        pending: list[Message] = []
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                pending.append(msg)
                break
            body = msg.get("body", b"")
            chunks.append(body)
            size += len(body)
            more = msg.get("more_body", False)
            if size > self.max_body:
                break
        body = b"".join(chunks)
        if not more and size <= self.max_body:
            new = self._handle(body, self.requests, "request", path)
            if new is not None:
                body = new
                scope["headers"] = _set_length(list(scope.get("headers", [])), len(body))
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]
        replay.extend(pending)

        async def replayed() -> Message:
            if replay:
                return replay.pop(0)
            return await receive()

        return replayed

    def _wrap_send(self, send: Send, path: str) -> Send:
        start: Optional[Message] = None
        passthrough = False

        async def wrapped(msg: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(msg)
                return
            if msg["type"] == "http.response.start":
                if _is_json(list(msg.get("headers", []))):
                    start = msg
                else:
                    passthrough = True
                    await send(msg)
                return
            if msg["type"] == "http.response.body" and start is not None:
                body = msg.get("body", b"")
                if msg.get("more_body", False) or len(body) > self.max_body:
                    # Streaming or large: untouched.
                    passthrough = True
                    await send(start)
                    await send(msg)
                    return
                new = self._handle(body, self.responses, "response", path)
                if new is not None:
                    start = dict(start)
                    start["headers"] = _set_length(list(start.get("headers", [])), len(new))
                    msg = dict(msg)
                    msg["body"] = new
                passthrough = True
                await send(start)
                await send(msg)
                return
            await send(msg)

        return wrapped


async def validation_error_handler(request: Any, exc: Any) -> Any:
    """A 422 response listing each error's location, type and message, but
    not the submitted ``input`` (nor ``ctx``, which can quote it)."""
    from fastapi.responses import JSONResponse

    errors = []
    for e in exc.errors():
        errors.append(
            {
                "loc": list(e.get("loc", ())),
                "type": e.get("type"),
                "msg": default_scanner().redact(str(e.get("msg", ""))),
            }
        )
    return JSONResponse(status_code=422, content={"detail": errors})


def lifespan(
    scanner: Callable[[], Scanner] = default_scanner,
    cipher: Optional[Callable[[], FieldCipher]] = None,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan`` that builds the scanner (and the cipher, if
    a factory is given) once at startup, for :func:`get_scanner` and
    :func:`get_cipher`. The cipher's audit log is flushed at shutdown."""

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        app.state.phisafe_scanner = scanner()
        app.state.phisafe_cipher = cipher() if cipher else None
        try:
            yield
        finally:
            if app.state.phisafe_cipher is not None:
                app.state.phisafe_cipher.flush_audit()

    return run


def get_scanner(request: Request) -> Scanner:
    """``Depends(get_scanner)``: the scanner the lifespan built."""
    scanner: Scanner = request.app.state.phisafe_scanner
    return scanner


def get_cipher(request: Request) -> FieldCipher:
    """``Depends(get_cipher)``: the cipher the lifespan built."""
    cipher: Optional[FieldCipher] = getattr(request.app.state, "phisafe_cipher", None)
    if cipher is None:
        raise RuntimeError("no FieldCipher: pass cipher= to phisafe.fastapi.lifespan")
    return cipher


def install(app: Any, *, scanner: Optional[Scanner] = None, **middleware: Any) -> None:
    """Adds :class:`PHIMiddleware` (keyword arguments go to it), the 422
    handler and the logging filter on the root and uvicorn handlers."""
    from fastapi.exceptions import RequestValidationError

    app.add_middleware(PHIMiddleware, scanner=scanner, **middleware)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    install_logging()
