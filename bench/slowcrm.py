#!/usr/bin/python3
"""slowcrm.py: the benchmark's slow stand-in CRM. Every call is answered after
DELAY seconds (2 by default), as a Freshmarketer that takes that long would:
the field list from FIELDS, and any POST with a contact id. Async mode is
measured against it (the visitor's latency must not depend on it).
Usage: slowcrm.py PORT_FILE FIELDS [DELAY]   (listens on a port the kernel
picks on 127.0.0.1 and writes it to PORT_FILE; stdlib only)."""
import http.server
import os
import socketserver
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, body):
        time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(FIELDS)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(b'{"contact":{"id":70054866612}}')

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    with open(sys.argv[2], "rb") as f:
        FIELDS = f.read()
    DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()
