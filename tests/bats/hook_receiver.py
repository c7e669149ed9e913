#!/usr/bin/env python3
"""A webhook receiver for hook.bats and bench/hook.sh, on 127.0.0.1.

Logs every request as one JSON line (time received, path, the Standard
Webhooks headers, the exact body, the status answered) to --log, and
answers as --control says, read again at every request:
  ok (or missing/empty)   200
  status N [RETRY_AFTER]  N, with Retry-After when given
  sleep S                 waits S seconds, then 200
The port it listens on is written to --port-file once it is serving;
--tls CERT KEY serves HTTPS instead.
"""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--control")
    ap.add_argument("--quiet-log", action="store_true", help="log ids only (bench)")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    a = ap.parse_args()
    log = open(a.log, "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            mode = ""
            if a.control and os.path.exists(a.control):
                with open(a.control) as f:
                    mode = f.read().strip()
            words = mode.split()
            status, extra = 200, {}
            if words[:1] == ["status"]:
                status = int(words[1])
                if len(words) > 2:
                    extra["Retry-After"] = words[2]
            rec = {"t": time.time(), "path": self.path, "status": status,
                   "id": self.headers.get("webhook-id"),
                   "timestamp": self.headers.get("webhook-timestamp")}
            if not a.quiet_log:
                rec.update({"signature": self.headers.get("webhook-signature"),
                            "content_type": self.headers.get("Content-Type"),
                            "body": body.decode("utf-8", "replace")})
            with lock:
                log.write(json.dumps(rec) + "\n")
            if words[:1] == ["sleep"]:
                time.sleep(float(words[1]))
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    if a.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
