"""A merchant's webhook receiver for the tests: verifies every delivery with the official
Standard Webhooks library (`standardwebhooks` from PyPI), never with Recete's own code.

Usage: receiver.py <directory>
  <directory>/secrets   one whsec_ secret per line, re-read on every request; a delivery is
                        checked against each of them separately
  <directory>/log.jsonl one JSON line per request received, appended as it arrives
Prints the port it listens on (127.0.0.1) as its first line.

The path decides how it answers:
  /ok      204 when the delivery verifies with the first secret, 401 otherwise
  /flaky   500 to the first request of each webhook-id, then as /ok
  /hang    the first request of each webhook-id gets no answer for 30 s, then as /ok
  /fail    500, always
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

directory = sys.argv[1]
lock = threading.Lock()
seen = {}


def secrets():
    with open(os.path.join(directory, "secrets"), encoding="utf-8") as file:
        return [line.strip() for line in file if line.strip()]


def log(entry):
    with lock:
        with open(os.path.join(directory, "log.jsonl"), "a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        webhook_id = headers.get("webhook-id")
        verified_with = []
        errors = []
        for index, secret in enumerate(secrets()):
            try:
                Webhook(secret).verify(body, headers)
                verified_with.append(index)
            except WebhookVerificationError as error:
                errors.append(f"secret {index}: {error}")
        with lock:
            count = seen.get((self.path, webhook_id), 0) + 1
            seen[(self.path, webhook_id)] = count
        if 0 in verified_with:
            status = 204
            if self.path == "/fail" or (self.path == "/flaky" and count == 1):
                status = 500
            if self.path == "/hang" and count == 1:
                status = "hang"
        else:
            status = 401
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        log({
            "path": self.path,
            "webhook_id": webhook_id,
            "webhook_timestamp": headers.get("webhook-timestamp"),
            "signatures": len((headers.get("webhook-signature") or "").split()),
            "content_type": headers.get("content-type"),
            "verified_with": verified_with,
            "errors": errors,
            "body": parsed,
            "answered": status,
            "received_at": time.time(),
        })
        if status == "hang":
            time.sleep(30)
            return
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
