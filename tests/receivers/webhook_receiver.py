#!/usr/bin/env python3
"""A webhook receiver written from Whereby's public verification instructions, to check that
anteroom's deliveries verify with code that is not ours.

Whereby signs each delivery with a header
    Whereby-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares it in constant
time, and refuses deliveries whose timestamp is too far from its own clock.

Usage: webhook_receiver.py --secret S --log FILE [--port 0] [--fail-first N] [--status CODE] [--sleep SECONDS]
                           [--retry-after VALUE]
Prints "listening <port>" once ready. Appends one JSON line per request to FILE:
{"accepted": bool, "reason": str, "status": int, "at": <unix seconds>, "event": <parsed body or null>,
 "raw": <body>}
"""
import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret, header, body):
    if not header:
        return False, "no signature header"
    parts = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False, "no timestamp"
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        return False, "stale timestamp"
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        return False, "bad signature"
    return True, "ok"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N requests")
    parser.add_argument("--status", type=int, default=200, help="status for accepted requests")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--retry-after", help="a Retry-After header for every answer")
    args = parser.parse_args()
    lock = threading.Lock()
    seen = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if args.sleep:
                time.sleep(args.sleep)
            with lock:
                seen["requests"] += 1
                failing = seen["requests"] <= args.fail_first
            ok, reason = verify(args.secret, self.headers.get("Whereby-Signature"), body)
            try:
                event = json.loads(body)
            except ValueError:
                event = None
            if failing:
                status, reason = 500, "failing on purpose"
            elif ok:
                status = args.status
            else:
                status = 400
            with lock, open(args.log, "a") as log:
                log.write(json.dumps({"accepted": ok and not failing, "reason": reason, "status": status,
                                      "at": time.time(),
                                      "event": event, "raw": body.decode("utf-8", "replace")}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            if args.retry_after is not None:
                self.send_header("Retry-After", args.retry_after)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
