"""A minimal, test-only HTTP front of chDB: enough of ClickHouse's HTTP interface for
clickhouse-connect, so the store's server path (``http://…:8123/db``) runs the same SQL
on the real ClickHouse engine without a ClickHouse server package.

Implemented: ``GET /ping`` and ``GET|POST /`` with the query in the ``query`` parameter
or the body; ``database`` (``USE``); ``param_NAME`` bindings (passed to chDB, which binds
``{NAME:Type}`` itself); other URL parameters are ClickHouse settings, applied with
``SET`` (unknown ones ignored); inserts (``query`` = ``INSERT … FORMAT Native`` and the
Native data in the body, optionally gzip/deflate/lz4/zstd/br ``Content-Encoding``) are
run as ``INSERT … FROM INFILE`` over a temp file, as clickhouse-connect's own chDB
backend does; output in the query's ``FORMAT`` clause (clickhouse-connect asks for
Native) or ``default_format`` or TabSeparated, never compressed; the ``X-ClickHouse-*``
response headers the client reads (summary, query id, format, timezone, exception
code). Not implemented: external data (multipart), sessions beyond one shared chDB
connection, authentication (any user is accepted), response compression, progress
headers.

chDB allows one database path per process: run it as a subprocess,
``python -m tests.chdb_http PATH PORT``, or through :class:`ChdbHttp`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# URL parameters that are not settings (or that this front handles itself).
_NOT_SETTINGS = {"query", "database", "default_format", "session_id", "session_timeout", "session_check",
                 "query_id", "compress", "decompress", "enable_http_compression", "wait_end_of_query",
                 "user", "password", "quota_key", "buffer_size", "send_progress_in_http_headers",
                 "http_headers_progress_interval_ms", "client_protocol_version", "role"}
_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\b", re.IGNORECASE)
_BODY_FORMAT = re.compile(rb"\bFORMAT\s+[A-Za-z0-9_]+[ \t]*\r?\n", re.IGNORECASE)
_CODE = re.compile(r"Code:\s*(\d+)")


class Engine:
    def __init__(self, path: str) -> None:
        import chdb

        self.conn = chdb.connect(path)
        self.lock = threading.Lock()
        self.settings: dict[str, str] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="chdb-http-"))

    def run(self, sql: str, fmt: str, params: dict[str, str], database: str | None,
            settings: dict[str, str]) -> tuple[bytes, dict[str, int]]:
        with self.lock:
            if database:
                self.conn.query(f"USE `{database.replace('`', '')}`", "TabSeparated")
            for key, value in settings.items():
                if self.settings.get(key) == value or not re.fullmatch(r"[A-Za-z0-9_]+", key):
                    continue
                try:
                    self.conn.query(f"SET {key} = '{value.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'",
                                    "TabSeparated")
                except Exception as exc:  # unknown or read-only setting: a real server would refuse too
                    print(f"chdb_http: ignored setting {key}={value!r}: {str(exc).splitlines()[0]}", file=sys.stderr)
                self.settings[key] = value
            res = self.conn.query(sql, fmt, params=params)
            data = res.bytes() if hasattr(res, "bytes") else bytes(res)
            summary = {}
            for name in ("rows_read", "bytes_read"):
                try:
                    summary[name] = int(getattr(res, name)())
                except Exception:
                    summary[name] = 0
            return data, summary

    def insert(self, sql: str, body: bytes, params: dict[str, str], database: str | None,
               settings: dict[str, str]) -> dict[str, int]:
        m = _FORMAT.search(sql)
        if not m:
            raise ValueError("Code: 62. DB::Exception: INSERT with data in the body needs a FORMAT clause")
        path = self.tmp / f"{uuid.uuid4().hex}.{m.group(1)}"
        path.write_bytes(body)
        try:
            infile = f"{sql[:m.start()].rstrip()} FROM INFILE '{path}' FORMAT {m.group(1)}"
            _data, summary = self.run(infile, "TabSeparated", params, database, settings)
            return summary
        finally:
            path.unlink(missing_ok=True)


def _decompress(data: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity":
        return data
    if encoding in ("gzip", "deflate"):
        import zlib

        return zlib.decompress(data, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    if encoding == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd  # type: ignore[no-redef]
        return zstd.decompress(data)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]

        return brotli.decompress(data)
    raise ValueError(f"Code: 1. DB::Exception: unsupported Content-Encoding {encoding}")


def make_handler(engine: Engine, log: bool = False) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            if log:
                super().log_message(format, *args)

        def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._handle(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
            else:
                body = self.rfile.read(length) if length else b""
            self._handle(body)

        def _handle(self, body: bytes) -> None:
            url = urlsplit(self.path)
            if url.path.rstrip("/") == "/ping":
                self._reply(200, b"Ok.\n", {"Content-Type": "text/plain"})
                return
            if url.path not in ("", "/"):
                self._reply(404, b"Code: 0. DB::Exception: not found\n")
                return
            args = dict(parse_qsl(url.query, keep_blank_values=True))
            query_id = args.get("query_id") or str(uuid.uuid4())
            headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": "UTC",
                       "X-ClickHouse-Server-Display-Name": "chdb-http"}
            try:
                body = _decompress(body, self.headers.get("Content-Encoding", ""))
                params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
                settings = {k: v for k, v in args.items() if k not in _NOT_SETTINGS and not k.startswith("param_")}
                database = args.get("database")
                if "query" in args:
                    sql, data = args["query"], body
                elif _INSERT.match(body[:64].decode(errors="replace")) and (m := _BODY_FORMAT.search(body)):
                    sql, data = body[:m.end()].decode().strip(), body[m.end():]   # INSERT … FORMAT X\n<data>
                else:
                    sql, data = body.decode(), b""
                if data and _INSERT.match(sql):
                    summary = engine.insert(sql, data, params, database, settings)
                    out, fmt = b"", "TabSeparated"
                else:
                    if data:
                        sql = sql + "\n" + data.decode()
                    m = _FORMAT.search(sql)
                    fmt = m.group(1) if m else args.get("default_format", "TabSeparated")
                    out, summary = engine.run(sql, fmt, params, database, settings)
            except Exception as exc:
                text = str(exc).strip() or type(exc).__name__
                code = _CODE.search(text)
                if not code:
                    text = f"Code: 1000. DB::Exception: {text}"
                headers["X-ClickHouse-Exception-Code"] = code.group(1) if code else "1000"
                self._reply(500, (text + "\n").encode(), {**headers, "Content-Type": "text/plain; charset=UTF-8"})
                return
            headers["X-ClickHouse-Format"] = fmt
            headers["X-ClickHouse-Summary"] = json.dumps({
                "read_rows": str(summary.get("rows_read", 0)), "read_bytes": str(summary.get("bytes_read", 0)),
                "written_rows": "0", "written_bytes": "0", "total_rows_to_read": "0", "result_rows": "0",
                "result_bytes": str(len(out)), "elapsed_ns": "0"})
            ctype = "application/octet-stream" if fmt in ("Native", "RowBinary", "RowBinaryWithNamesAndTypes") \
                else "text/tab-separated-values; charset=UTF-8"
            self._reply(200, out, {**headers, "Content-Type": ctype})

    return Handler


def serve(path: str, port: int, log: bool = False) -> None:
    engine = Engine(path)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(engine, log))
    server.daemon_threads = True
    print(f"chdb_http: serving {path} on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChdbHttp:
    """The front in a subprocess (one chDB path per process) on a free loopback port."""

    def __init__(self, path: Path) -> None:
        self.port = _free_port()
        self.log = (path.parent / f"{path.name}.http.log").open("w")
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.chdb_http", str(path), str(self.port)],
                                     cwd=root, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chdb_http exited: {Path(self.log.name).read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("chdb_http did not listen within 30 s")

    def url(self, database: str = "default") -> str:
        return f"http://default@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import urllib.request

        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/",
                                     data=f"CREATE DATABASE IF NOT EXISTS `{name}`".encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        return self.url(name)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), log=len(sys.argv) > 3)
