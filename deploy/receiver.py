#!/usr/bin/env python3
"""LogDrain test/demo receiver: a local HTTPS log-drain endpoint (Python stdlib only).

HTTP/1.1 with keep-alive. Verifies X-Fal-Signature with the seed's own verify_signature.

Routing (by URL path; the query string is logged but ignored):
  /status/<code>/...            answer <code> (3xx: Location https://127.0.0.1:<port>/ok/redirected)
  /sleep/<seconds>/...          sleep <seconds> (float), then 200
  /slow-status/<secs>/<code>/.. sleep <secs> (float), then answer <code>
  /flaky/<n>/...                first <n> requests to that path answer 500, then 200
  /retry-after/<secs>/<n>/...   first <n> requests to that path answer 503 + Retry-After: <secs>
  /discard/...                  200, body dropped, not logged (benchmark sink); counted
  /big/<bytes>/...              200 with a response body of that many bytes
  GET /_stats                   JSON counters {requests, lines, bytes, signature_ok, ...}
  /_stats/reset                 reset the counters
  anything else                 200 {"ok":true}

Every request except /discard and /_stats is appended to --log as one JSON object per line:
  {"time", "method", "path", "headers", "body", "body_b64", "signature_valid", "status"}
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse


# --- copied literally from the reference page (reference/fal-log-drains.txt) ---
def verify_signature(body: bytes, signature: str, secret: str) -> bool:
    expected = hmac.new(
        secret.encode(), body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(signature, expected)
# --------------------------------------------------------------------------------


MAX_BODY = 256 * 1024 * 1024  # refuse absurd Content-Length values


class Secret:
    """The shared secret, re-read when the file changes (one trailing newline stripped)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.value = None

    def get(self):
        if not self.path:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return self.value
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self.lock:
            if stamp != self.stamp:
                with open(self.path, "rb") as f:
                    raw = f.read()
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                self.value = raw.decode("utf-8", errors="replace")
                self.stamp = stamp
            return self.value


class State:
    def __init__(self, args):
        self.args = args
        self.secret = Secret(args.secret_file)
        self.port = 0
        self.log_lock = threading.Lock()
        # One os.write per record on an O_APPEND fd: a reader never sees two records interleaved.
        self.log_fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if args.log else None
        self.print_lock = threading.Lock()
        self.counter_lock = threading.Lock()
        self.measure_latency = getattr(args, "measure_latency", False)
        self.path_counts = {}
        self.reset_stats()

    def reset_stats(self):
        with self.counter_lock:
            self.stats = {
                "requests": 0,
                "lines": 0,
                "bytes": 0,
                "signature_ok": 0,
                "signature_bad": 0,
                "discard_requests": 0,
                "started_at": time.time(),
            }
            self.latencies = []

    def count(self, body, sig_ok, discard):
        with self.counter_lock:
            s = self.stats
            s["requests"] += 1
            s["lines"] += body.count(b"\n")
            s["bytes"] += len(body)
            s["signature_ok" if sig_ok else "signature_bad"] += 1
            if discard:
                s["discard_requests"] += 1
        if discard and self.measure_latency:
            # Ingest-to-receipt latency: receipt time minus each line's own timestamp.
            now = time.time()
            lat = []
            for line in body.splitlines():
                try:
                    ts = json.loads(line)["timestamp"]
                    lat.append(now - datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
                except (ValueError, KeyError, TypeError):
                    pass
            with self.counter_lock:
                self.latencies.extend(lat)

    def snapshot(self):
        with self.counter_lock:
            out = dict(self.stats)
            lat = sorted(self.latencies)
        if lat:
            out["latency_count"] = len(lat)
            out["latency_p50"] = lat[len(lat) // 2]
            out["latency_p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            out["latency_max"] = lat[-1]
        out["time"] = time.time()
        return out

    def hit(self, path):
        """Number of earlier requests to this exact path (then counts this one)."""
        with self.counter_lock:
            n = self.path_counts.get(path, 0)
            self.path_counts[path] = n + 1
            return n

    def log(self, record):
        if self.log_fd is None:
            return
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self.log_lock:
            view = memoryview(data)
            while view:
                n = os.write(self.log_fd, view)
                view = view[n:]

    def show(self, method, path, body, sig_ok, status, headers):
        if not self.args.print:
            return
        t = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % int((t % 1) * 1000)
        attempt = headers.get("x-fal-delivery-attempt", "-")
        msg = "%s %s %s lines=%d bytes=%d sig=%s attempt=%s status=%d" % (
            stamp, method, path, body.count(b"\n"), len(body),
            "OK" if sig_ok else "BAD", attempt, status)
        with self.print_lock:
            sys.stdout.write(msg + "\n")
            sys.stdout.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK add ~40 ms to every response (kept-alive clients wait for it).
    disable_nagle_algorithm = True
    server_version = "LogDrainTestReceiver/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this

    state = None  # set in main()

    # -- plumbing -----------------------------------------------------------

    def log_message(self, fmt, *args):  # default per-request stderr logging: off
        pass

    def log_error(self, fmt, *args):
        if self.state.args.print:
            sys.stderr.write("receiver: %s - %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("eof in chunked body")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        line = self.rfile.readline(65537)
                        if line in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.read_exact(size))
                self.rfile.readline(65537)  # CRLF after chunk
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.read_exact(n)

    def read_exact(self, n):
        parts = []
        while n > 0:
            chunk = self.rfile.read(n)
            if not chunk:
                raise ConnectionError("eof in body")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def reply(self, status, body=b"", headers=None, content_type="application/json"):
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    # -- routing --------------------------------------------------------------

    def route(self, path):
        """Return (status, extra headers, sleep seconds, discard, stats)."""
        parts = [p for p in path.split("/") if p != ""]
        head = parts[0] if parts else ""
        try:
            if head == "_stats":
                if len(parts) > 1 and parts[1] == "reset":
                    return 200, {}, 0.0, False, "reset"
                return 200, {}, 0.0, False, "stats"
            if head == "discard":
                return 200, {}, 0.0, True, None
            if head == "big" and len(parts) >= 2:
                return 200, {}, 0.0, False, "big:%d" % int(parts[1])
            if head == "status" and len(parts) >= 2:
                code = int(parts[1])
                if not 200 <= code <= 599:
                    return 400, {}, 0.0, False, None
                hdrs = {}
                if 300 <= code < 400:
                    hdrs["Location"] = "https://127.0.0.1:%d/ok/redirected" % self.state.port
                return code, hdrs, 0.0, False, None
            if head == "sleep" and len(parts) >= 2:
                secs = float(parts[1])
                if secs != secs or secs < 0:
                    raise ValueError
                return 200, {}, secs, False, None
            if head == "slow-status" and len(parts) >= 3:
                secs = float(parts[1])
                code = int(parts[2])
                if secs != secs or secs < 0 or not 200 <= code <= 599:
                    raise ValueError
                return code, {}, secs, False, None
            if head == "flaky" and len(parts) >= 2:
                n = int(parts[1])
                seen = self.state.hit(path)
                return (500 if seen < n else 200), {}, 0.0, False, None
            if head == "retry-after" and len(parts) >= 3:
                secs = parts[1]
                float(secs)
                n = int(parts[2])
                seen = self.state.hit(path)
                if seen < n:
                    return 503, {"Retry-After": secs}, 0.0, False, None
                return 200, {}, 0.0, False, None
        except ValueError:
            return 400, {}, 0.0, False, None
        return 200, {}, 0.0, False, None

    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, ConnectionError) as e:
            self.close_connection = True
            try:
                self.reply(400, b'{"ok":false,"error":"bad body"}')
            except OSError:
                pass
            self.log_error("bad request body: %s", e)
            return

        full_path = self.path
        url_path = urllib.parse.urlsplit(full_path).path or "/"
        headers = {k.lower(): v for k, v in self.headers.items()}
        signature = self.headers.get("X-Fal-Signature")
        secret = self.state.secret.get()
        sig_ok = False
        if signature is not None and secret is not None:
            try:
                sig_ok = verify_signature(body, signature, secret)
            except TypeError:  # non-ASCII signature header
                sig_ok = False

        status, extra, sleep_s, discard, special = self.route(url_path)

        if special == "stats":
            payload = json.dumps(self.state.snapshot()).encode()
            self.reply(200, payload)
            return
        if special == "reset":
            self.state.reset_stats()
            self.reply(200, b'{"ok":true}')
            return

        self.state.count(body, sig_ok, discard)
        if not discard:
            self.state.log({
                "time": time.time(),
                "method": self.command,
                "path": full_path,
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
                "body_b64": base64.b64encode(body).decode("ascii"),
                "signature_valid": sig_ok,
                "status": status,
            })
            self.state.show(self.command, url_path, body, sig_ok, status, headers)

        if sleep_s > 0:
            time.sleep(sleep_s)

        if special and special.startswith("big:"):
            payload = b"x" * int(special[4:])  # a large answer: clients should stop reading early
        elif 200 <= status < 300:
            payload = b'{"ok":true}'
        else:
            payload = json.dumps({"ok": False, "status": status}).encode()
        self.reply(status, payload, extra)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    ssl_context = None

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the per-connection thread, so a slow or
        # failing client never blocks accept().
        request.settimeout(30)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError, ValueError):
            return  # handshake failed (e.g. client rejected our certificate)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, BrokenPipeError)):
            return  # client went away; not our problem
        if isinstance(exc, OSError):
            return
        sys.stderr.write("receiver: error handling request from %s: %r\n" % (client_address, exc))


def main():
    ap = argparse.ArgumentParser(description="LogDrain local HTTPS log-drain receiver")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0 = pick a free one)")
    ap.add_argument("--port-file", help="write the chosen port to this file")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--secret-file", help="drain secret (one trailing newline stripped)")
    ap.add_argument("--log", help="append one JSON object per request here")
    ap.add_argument("--print", action="store_true", help="print one line per request to stdout")
    ap.add_argument("--measure-latency", action="store_true",
                    help="for /discard requests, record now - timestamp of every line; /_stats reports p50/p99/max")
    args = ap.parse_args()

    state = State(args)
    Handler.state = state

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    Server.address_family = family
    httpd = Server((args.bind, args.port), Handler)
    httpd.ssl_context = ctx
    state.port = httpd.server_address[1]

    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % state.port)
        os.replace(tmp, args.port_file)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, stop)

    sys.stderr.write("receiver: listening on https://%s:%d (log %s)\n"
                     % (args.bind if family == socket.AF_INET else "[%s]" % args.bind,
                        state.port, args.log or "-"))
    sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.5)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
