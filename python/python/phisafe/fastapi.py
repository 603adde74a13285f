"""FastAPI (and any ASGI app) integration.

- :class:`PHIMiddleware`: a pure ASGI middleware (no ``BaseHTTPMiddleware``,
  so contextvars and streaming keep working) that logs PHI in JSON request
  bodies and redacts it in JSON, NDJSON and plain-text responses (gzip
  too). What it cannot read (too large, another encoding) is never passed
  silently: ``on_unscanned`` logs it by default, or blocks it.
- :func:`validation_error_handler`: 422 responses without the submitted
  ``input`` (FastAPI echoes it by default, PHI included) and without body
  keys that may be data.
- :func:`lifespan`, :func:`get_scanner`, :func:`get_cipher`: build the
  scanner and cipher once at startup and hand them to endpoints with
  ``Depends``.
- :func:`install`: all of the above on an app, plus the logging filter.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import zlib
from typing import Any, AsyncIterator, Awaitable, Callable, MutableMapping, Optional

try:
    from starlette.requests import Request
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "phisafe.fastapi needs FastAPI (starlette): pip install 'phisafe[fastapi]'"
    ) from e

from phisafe import FieldCipher, Finding, Scanner, default_scanner
from phisafe.logging import RedactingFilter
from phisafe.logging import install as install_logging

__all__ = [
    "PHIMiddleware",
    "get_cipher",
    "get_scanner",
    "install",
    "lifespan",
    "make_validation_error_handler",
    "validation_error_handler",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("phisafe.fastapi")


_JSON = 1
_NDJSON = 2
_TEXT = 3
# Plain text bodies, redacted as text. HTML and XML are left alone: a
# replacement could land inside markup.
_TEXT_TYPES = (b"text/plain", b"text/csv", b"text/tab-separated-values")
_NDJSON_TYPES = (b"application/x-ndjson", b"application/jsonl", b"application/json-seq", b"application/jsonlines")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> Optional[bytes]:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _kind(headers: list[tuple[bytes, bytes]]) -> int:
    """_JSON, _NDJSON, _TEXT or 0 for a body of another type."""
    v = _header(headers, b"content-type")
    if v is None:
        return 0
    mime = v.split(b";")[0].strip().lower()
    if mime in _NDJSON_TYPES:
        return _NDJSON
    if mime == b"application/json" or mime.endswith(b"+json"):
        return _JSON
    if mime in _TEXT_TYPES:
        return _TEXT
    return 0


def _set_length(headers: list[tuple[bytes, bytes]], n: Optional[int]) -> list[tuple[bytes, bytes]]:
    out = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    if n is not None:
        out.append((b"content-length", str(n).encode()))
    return out


class _Unscanned(Exception):
    """A body the middleware cannot read; the message says why."""


def _gunzip(body: bytes, limit: int) -> bytes:
    """``body`` decompressed, refusing more than ``limit`` bytes of output
    (a small gzip body can expand a thousandfold)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as e:
        raise _Unscanned("gzip body does not decompress") from e
    if len(out) > limit or d.unconsumed_tail:
        raise _Unscanned("gzip body larger than max_body when decompressed")
    return out


def _encoding(headers: list[tuple[bytes, bytes]]) -> Optional[bytes]:
    v = _header(headers, b"content-encoding")
    v = v.strip().lower() if v is not None else b""
    return None if v in (b"", b"identity") else v


def _redact_loc(scanner: Scanner, loc: Any) -> list[Any]:
    """A 422 ``loc`` with keys that may be data withheld: a ``dict[str, X]``
    body puts its keys there (``["body", "Maria Lopez"]``). Field names
    (identifiers the scanner finds nothing in) and list indices stay."""
    out: list[Any] = []
    for part in loc if isinstance(loc, (list, tuple)) else ():
        if isinstance(part, int):
            out.append(part)
        elif isinstance(part, str) and part.isidentifier() and scanner.redact(part) == part:
            out.append(part)
        else:
            out.append("[KEY]")
    return out


class PHIMiddleware:
    """Scans JSON and NDJSON bodies.

    ``requests`` is ``"off"`` or ``"log"`` (a warning naming the entities
    and JSON paths found, never the values); gzip request bodies are
    decompressed (at most ``max_body`` bytes) to be read. Requests are
    never changed: an endpoint handed ``[SSN]`` would fail validation.
    ``responses`` is ``"off"``, ``"log"`` or ``"redact"`` (JSON bodies are
    replaced by their redacted JSON, same shape; NDJSON line by line as it
    streams; ``text/plain`` and ``text/csv`` as text, read whole; gzip responses decompressed and compressed again;
    ``content-length`` fixed). Defaults: log requests, redact responses.

    A body the middleware cannot read (JSON over ``max_body`` bytes,
    including streamed JSON that grows past it; an NDJSON line that long;
    an encoding other than gzip; bytes that are not UTF-8) is handled by
    ``on_unscanned``: ``"pass"`` sends it as it is, ``"log"`` (the default)
    does too and logs a warning naming the path, ``"block"`` answers 413
    for a request, and for a response 500 (or, once an NDJSON stream has
    begun, ends it there).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        scanner: Optional[Scanner] = None,
        requests: str = "log",
        responses: str = "redact",
        max_body: int = 1 << 20,
        on_unscanned: str = "log",
    ) -> None:
        if requests == "redact":
            raise ValueError(
                "requests='redact' is not offered: endpoints would validate '[SSN]'; "
                "use requests='log' and redact what they log"
            )
        if requests not in ("off", "log") or responses not in ("off", "log", "redact"):
            raise ValueError("requests is 'off' or 'log'; responses is 'off', 'log' or 'redact'")
        if on_unscanned not in ("pass", "log", "block"):
            raise ValueError("on_unscanned is 'pass', 'log' or 'block'")
        self.app = app
        self.scanner = scanner
        self.requests = requests
        self.responses = responses
        self.max_body = max_body
        self.on_unscanned = on_unscanned

    def _scanner(self) -> Scanner:
        return self.scanner or default_scanner()

    def _unscanned(self, where: str, path: str, why: str) -> bool:
        """Applies ``on_unscanned``; True when the body must be blocked."""
        if self.on_unscanned != "pass":
            _log.warning(
                "%s body of %s not scanned for PHI (%s); on_unscanned=%r",
                where,
                self._scanner().redact(path),
                why,
                self.on_unscanned,
            )
        return self.on_unscanned == "block"

    def _found(self, found: list[Finding], where: str, path: str) -> None:
        """Logs what was found, if anything (entities and paths only)."""
        if not found:
            return
        # Paths carry values too (/patients/{email}), and a JSON path's
        # keys can be names: both are redacted.
        scanner = self._scanner()
        summary = ", ".join(sorted({f"{f.entity}@{f.path}" for f in found}))
        _log.warning(
            "PHI in %s body of %s: %s", where, scanner.redact(path), scanner.redact(summary)
        )

    def _text(self, text: str, mode: str, where: str, path: str) -> Optional[str]:
        """The replacement for a text body, or None to keep it."""
        scanner = self._scanner()
        if mode == "log":
            self._found(scanner.scan(text), where, path)
            return None
        red = scanner.redact(text)
        return None if red == text else red

    def _json(self, text: str, mode: str, where: str, path: str) -> Optional[str]:
        """The replacement for one JSON document, or None to keep it. Text
        that does not parse is redacted as text."""
        scanner = self._scanner()
        try:
            doc = json.loads(text)
        except ValueError:
            return self._text(text, mode, where, path)
        if mode == "log":
            self._found(scanner.scan_json(doc), where, path)
            return None
        # One pass: redact_json hands back what it did not change as it
        # was, so an equal result means nothing was found.
        red = scanner.redact_json(doc)
        if red == doc:
            return None
        return json.dumps(red, ensure_ascii=False, separators=(",", ":"))

    def _ndjson(self, data: bytes, mode: str, path: str) -> bytes:
        """Complete NDJSON lines, redacted line by line."""
        lines = data.split(b"\n")
        out = []
        for line in lines:
            if line.strip():
                try:
                    new = self._json(line.decode(), mode, "response", path)
                except UnicodeDecodeError as e:
                    raise _Unscanned("NDJSON line is not UTF-8") from e
                if new is not None:
                    line = new.encode()
            out.append(line)
        return b"\n".join(out)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.requests != "off" and _kind(scope.get("headers", [])):
            got = await self._wrap_request(scope, receive, path)
            if got is None:
                await _respond(send, 413, "request body withheld: too large or unreadable for PHI scanning")
                return
            receive = got
        if self.responses == "off":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._wrap_send(send, path))

    async def _wrap_request(self, scope: Scope, receive: Receive, path: str) -> Optional[Receive]:
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
        headers = list(scope.get("headers", []))
        try:
            if more or size > self.max_body:
                raise _Unscanned("larger than max_body")
            encoding = _encoding(headers)
            if encoding == b"gzip":
                plain = _gunzip(body, self.max_body)
            elif encoding is None:
                plain = body
            else:
                raise _Unscanned(f"content-encoding {encoding.decode(errors='replace')}")
            try:
                text = plain.decode()
            except UnicodeDecodeError as e:
                raise _Unscanned("not UTF-8") from e
            self._json(text, "log", "request", path)
        except _Unscanned as e:
            if self._unscanned("request", path, str(e)):
                return None
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]
        replay.extend(pending)

        async def replayed() -> Message:
            if replay:
                return replay.pop(0)
            return await receive()

        return replayed

    def _wrap_send(self, send: Send, path: str) -> Send:
        mode = self.responses
        start: Optional[Message] = None
        kind = 0
        encoding: Optional[bytes] = None
        chunks: list[bytes] = []
        size = 0
        tail = b""  # an NDJSON line not yet complete
        state = "start"  # start, buffer (JSON), lines (NDJSON), pass, drop

        async def flush_raw(more: bool) -> None:
            nonlocal state
            assert start is not None
            state = "pass"
            await send(start)
            await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": more})

        async def wrapped(msg: Message) -> None:
            nonlocal start, kind, encoding, size, tail, state
            if state == "pass":
                await send(msg)
                return
            if state == "drop":
                return
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                kind = _kind(headers)
                if not kind:
                    state = "pass"
                    await send(msg)
                    return
                encoding = _encoding(headers)
                start = msg
                if kind == _NDJSON and encoding is None:
                    # Streamed on, line by line: no length known ahead.
                    start = dict(msg)
                    start["headers"] = _set_length(headers, None)
                    state = "lines"
                    await send(start)
                else:
                    state = "buffer"
                return
            if msg["type"] != "http.response.body" or start is None:
                await send(msg)
                return
            body = msg.get("body", b"")
            more = msg.get("more_body", False)
            if state == "lines":
                data = tail + body
                if more:
                    cut = data.rfind(b"\n") + 1
                    data, tail = data[:cut], data[cut:]
                try:
                    if len(tail) > self.max_body:
                        raise _Unscanned("NDJSON line longer than max_body")
                    out = self._ndjson(data, mode, path) if data else b""
                except _Unscanned as e:
                    if self._unscanned("response", path, str(e)):
                        state = "drop"
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                        return
                    state = "pass"
                    out = data + tail
                await send({"type": "http.response.body", "body": out, "more_body": more})
                return
            # state == "buffer": a JSON body, read whole before it is sent.
            chunks.append(body)
            size += len(body)
            try:
                if size > self.max_body:
                    raise _Unscanned("larger than max_body")
                if more:
                    return
                raw = b"".join(chunks)
                if encoding not in (None, b"gzip"):
                    raise _Unscanned(f"content-encoding {encoding.decode(errors='replace')}")
                plain = _gunzip(raw, self.max_body) if encoding == b"gzip" and raw else raw
                try:
                    text = plain.decode()
                except UnicodeDecodeError as e:
                    raise _Unscanned("not UTF-8") from e
                if kind == _NDJSON:
                    new: Optional[bytes] = self._ndjson(plain, mode, path)
                elif kind == _TEXT:
                    red = self._text(text, mode, "response", path)
                    new = None if red is None else red.encode()
                else:
                    red = self._json(text, mode, "response", path) if text.strip() else None
                    new = None if red is None else red.encode()
            except _Unscanned as e:
                if self._unscanned("response", path, str(e)):
                    state = "drop"
                    await _respond(send, 500, "response withheld: too large or unreadable for PHI scanning")
                    return
                await flush_raw(more)
                return
            state = "pass"
            if new is not None and new != plain:
                if encoding == b"gzip":
                    new = gzip.compress(new)
                start = dict(start)
                start["headers"] = _set_length(list(start.get("headers", [])), len(new))
                raw = new
            await send(start)
            await send({"type": "http.response.body", "body": raw, "more_body": False})

        return wrapped


async def _respond(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def make_validation_error_handler(
    scanner: Optional[Scanner] = None,
) -> Callable[[Any, Any], Awaitable[Any]]:
    """A 422 handler like :func:`validation_error_handler` using ``scanner``."""

    async def handler(request: Any, exc: Any) -> Any:
        from fastapi.responses import JSONResponse

        s = scanner or default_scanner()
        errors = [
            {
                "loc": _redact_loc(s, e.get("loc", ())),
                "type": e.get("type"),
                "msg": s.redact(str(e.get("msg", ""))),
            }
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    return handler


async def validation_error_handler(request: Any, exc: Any) -> Any:
    """A 422 response listing each error's location, type and message, but
    not the submitted ``input`` (nor ``ctx``, which can quote it). Keys of
    the body that may be data (a ``dict[str, X]`` body puts them in
    ``loc``) are shown as ``[KEY]``."""
    return await make_validation_error_handler()(request, exc)


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
    handler and the logging filter (:func:`phisafe.logging.install`), all
    with ``scanner`` when one is given.

    Add it after ``GZipMiddleware`` and other middleware that compress or
    stream (``add_middleware`` puts the last one added outermost), so that
    it sees bodies before they are compressed; a gzip body it does see is
    decompressed, redacted and compressed again."""
    from fastapi.exceptions import RequestValidationError

    app.add_middleware(PHIMiddleware, scanner=scanner, **middleware)
    app.add_exception_handler(RequestValidationError, make_validation_error_handler(scanner))
    install_logging(filter=RedactingFilter(scanner=scanner) if scanner is not None else None)
