#!/usr/bin/env python3
"""A small HTTP/1.1 file server for the tests and benchmarks of the HTTP input.

Serves DIR on 127.0.0.1 at a free port and writes the port to PORT_FILE once it listens.
Standard library only. Besides plain files (GET and HEAD, single byte ranges, ETag and
Last-Modified taken from the file as Apache does), it answers a few special paths:

  /status/<code>        that status, with a short body
  /redirect/<path>      302 to /<path>
  /loop                 302 to /loop, forever
  /chunked/<path>       the file with Transfer-Encoding: chunked (no Content-Length)
  /auth/<path>          the file, behind HTTP basic authentication (--auth USER:PASS)

Faults, to test a client's resumption: --drop-after BYTES --drop-count K closes the connection
after BYTES bytes of the body for the first K GET requests of each path; --no-range ignores
Range headers (answers 200 with the whole file). --log FILE appends one line per request:
"METHOD PATH STATUS RANGE".

For the answer-file fetch, options that add behaviour (none of it happens without them):
  --delay SECONDS       /slow/<path>: waits SECONDS, then answers as for /<path>
  --redirect-to BASE    /away/<path>: 302 to BASE/<path> (another server, another scheme)
  --post-dir DIR        POST: the body is a `kvmforge-install detect --json` report; answers
                        DIR/<system.serial>.cfg, else DIR/<mac>.cfg for the first of its NICs'
                        MACs (lowercase, ':' as '-') that has one, else 404. The log line ends
                        with the file chosen ("POST /ks 200 - serial-XYZ.cfg")
  --log-headers         after each request's log line, its headers, one "> Name: value" each

For the install's reports:
  --collect DIR         POST /report...: the body kept as DIR/NNNN.json in order, answered 204
"""

import argparse
import base64
import email.utils
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

CHUNK = 1 << 20


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, opts):
        super().__init__(("127.0.0.1", 0), Handler)
        self.opts = opts
        self.root = os.path.realpath(opts.dir)
        self.lock = threading.Lock()
        self.requests = {}  # path -> GET requests seen, for --drop-count
        self.tls = None
        if opts.tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(opts.tls[0], opts.tls[1])

    def handle_error(self, request, client_address):
        # Clients that reject our certificate or hang up early are part of the tests.
        pass

    def count(self, path):
        with self.lock:
            n = self.requests.get(path, 0)
            self.requests[path] = n + 1
            return n

    def log(self, line, headers=None):
        if not self.opts.log:
            return
        if headers is not None and self.opts.log_headers:
            for k, v in headers.items():
                line += "\n> %s: %s" % (k, v)
        with self.lock:
            with open(self.opts.log, "a") as f:
                f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kvmforge-test-httpd"

    def setup(self):
        # The handshake runs here, in the connection's thread, so that a client that never
        # completes it cannot stall the accepting loop.
        if self.server.tls:
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format, *args):
        if self.server.opts.verbose:
            sys.stderr.write("httpd: " + (format % args) + "\n")

    def do_GET(self):
        self.serve(body=True)

    def do_HEAD(self):
        self.serve(body=False)

    def do_POST(self):
        opts = self.server.opts
        if opts.collect and self.path.startswith("/report"):
            # An install report: kept as NNNN.json in order of arrival, answered 204.
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            count = len(os.listdir(opts.collect))
            with open(os.path.join(opts.collect, "%04d.json" % count), "wb") as f:
                f.write(body)
            self.send_response(204)
            self.end_headers()
            return
        if opts.post_dir is None:
            # What BaseHTTPRequestHandler answers for a method it has no do_ for.
            return self.send_error(501, "Unsupported method ('POST')")
        try:
            n = int(self.headers.get("Content-Length", "0"))
            report = json.loads(self.rfile.read(n).decode() or "null")
        except ValueError:
            return self.simple(400, b"the body is not JSON\n")
        names = []
        if isinstance(report, dict):
            serial = (report.get("system") or {}).get("serial")
            if serial:
                names.append(serial + ".cfg")
            for nic in report.get("nics") or []:
                if nic.get("mac"):
                    names.append(nic["mac"].lower().replace(":", "-") + ".cfg")
        for name in names:
            full = os.path.join(opts.post_dir, name)
            if "/" in name or not os.path.isfile(full):
                continue
            with open(full, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.server.log("%s %s 200 - %s" % (self.command, self.path, name), self.headers)
            return
        self.simple(404, b"no answer for this host\n")

    def simple(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.server.log("%s %s %d -" % (self.command, self.path, code), self.headers)

    def serve(self, body):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = path.lstrip("/").split("/", 1)
        head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if head == "status" and rest.isdigit():
            code = int(rest)
            return self.simple(code, b"status %d\n" % code)
        if head == "redirect":
            return self.simple(302, b"moved\n", [("Location", "/" + rest)])
        if head == "loop":
            return self.simple(302, b"loop\n", [("Location", "/loop")])
        opts = self.server.opts
        if head == "slow" and opts.delay is not None:
            time.sleep(opts.delay)
            return self.serve_file("/" + rest, body, False)
        if head == "away" and opts.redirect_to is not None:
            return self.simple(302, b"moved away\n",
                               [("Location", opts.redirect_to.rstrip("/") + "/" + rest)])
        chunked = False
        if head == "chunked":
            chunked, path = True, "/" + rest
        if head == "auth":
            want = "Basic " + base64.b64encode((self.server.opts.auth or "").encode()).decode()
            if not self.server.opts.auth or self.headers.get("Authorization") != want:
                return self.simple(401, b"who are you?\n",
                                   [("WWW-Authenticate", 'Basic realm="test"')])
            path = "/" + rest
        self.serve_file(path, body, chunked)

    def serve_file(self, path, body, chunked):
        opts = self.server.opts
        full = os.path.realpath(os.path.join(self.server.root, path.lstrip("/")))
        if not (full == self.server.root or full.startswith(self.server.root + os.sep)):
            return self.simple(403, b"outside the served directory\n")
        try:
            f = open(full, "rb")
        except OSError:
            return self.simple(404, b"not found\n")
        with f:
            st = os.fstat(f.fileno())
            if not os.path.isfile(full):
                return self.simple(404, b"not a file\n")
            size = st.st_size
            start, end, code = 0, size, 200
            rng = self.headers.get("Range")
            if rng and not opts.no_range and not chunked:
                r = parse_range(rng, size)
                if r is None:
                    return self.simple(416, b"range not satisfiable\n",
                                       [("Content-Range", "bytes */%d" % size)])
                if r != "ignore":
                    start, end, code = r[0], r[1], 206
            # The inode is part of the validator, so a file replaced by rename changes it.
            etag = '"%x-%x-%x"' % (st.st_ino, size, st.st_mtime_ns)
            self.send_response(code)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            if not opts.no_range:
                self.send_header("Accept-Ranges", "bytes")
            if code == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(end - start))
            self.end_headers()
            self.server.log("%s %s %d %s" % (self.command, self.path, code, rng or "-"),
                            self.headers)
            if not body:
                return
            limit = end - start
            drop = False
            if opts.drop_after is not None and self.server.count(path) < opts.drop_count:
                if opts.drop_after < limit:
                    limit, drop = opts.drop_after, True
            if chunked:
                self.send_chunked(f, start, limit, not drop)
            else:
                self.send_body(f, start, limit)
            if drop:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def send_body(self, f, offset, count):
        if count == 0:
            return
        if self.server.tls:
            f.seek(offset)
            while count > 0:
                data = f.read(min(CHUNK, count))
                if not data:
                    break
                self.wfile.write(data)
                count -= len(data)
        else:
            self.connection.sendfile(f, offset, count)  # os.sendfile: no copy through Python

    def send_chunked(self, f, offset, count, last):
        f.seek(offset)
        while count > 0:
            data = f.read(min(CHUNK, count))
            if not data:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            count -= len(data)
        if last:
            self.wfile.write(b"0\r\n\r\n")


def parse_range(value, size):
    """(start, end) for one satisfiable range, None for 416, "ignore" for what we don't serve."""
    if not value.startswith("bytes=") or "," in value:
        return "ignore"
    first, _, last = value[len("bytes="):].strip().partition("-")
    try:
        if first == "":  # suffix range: the last N bytes
            n = int(last)
            if n <= 0:
                return None
            return (max(size - n, 0), size)
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return "ignore"
    if start >= size or end <= start:
        return None
    return (start, min(end, size))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="directory to serve")
    p.add_argument("--port-file", required=True, help="where to write the port once listening")
    p.add_argument("--drop-after", type=int, metavar="BYTES",
                   help="close the connection after BYTES bytes of body")
    p.add_argument("--drop-count", type=int, default=1, metavar="K",
                   help="for the first K GET requests of each path (default 1)")
    p.add_argument("--no-range", action="store_true", help="ignore Range, always answer 200")
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS")
    p.add_argument("--auth", metavar="USER:PASS", help="credentials for /auth/")
    p.add_argument("--log", metavar="FILE", help="append one line per request")
    p.add_argument("--log-headers", action="store_true",
                   help="also log each request's headers")
    p.add_argument("--delay", type=float, metavar="SECONDS",
                   help="wait this long before answering /slow/<path>")
    p.add_argument("--redirect-to", metavar="BASE", help="/away/<path> redirects to BASE/<path>")
    p.add_argument("--post-dir", metavar="DIR",
                   help="answer POSTed detect reports with DIR/<serial>.cfg or DIR/<mac>.cfg")
    p.add_argument("--collect", metavar="DIR",
                   help="POST /report...: keep each body as DIR/NNNN.json, answer 204")
    p.add_argument("--verbose", action="store_true")
    opts = p.parse_args()

    server = Server(opts)
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, opts.port_file)  # readers never see a half-written port
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
