"""A webhook receiver for Beckon's tests: verifies every request with the
`standardwebhooks` package (an independent implementation of the Standard
Webhooks specification) and appends one JSON line per request to --log:
{"webhook_id", "timestamp", "verified", "error", "answered", "body"}.

The signing secret is read from --secret-file at each request (the test
writes it once `beckon webhook set` has printed it). With --fail-first TYPE
the first request carrying an event of that type is answered 500 (the
sender must retry it with the same webhook-id); everything else gets 204.
Stops on SIGTERM or when killed.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--fail-first", default=None)
    args = parser.parse_args()
    lock = threading.Lock()
    failed_once = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            verified, error = False, None
            try:
                with open(args.secret_file) as f:
                    secret = f.read().strip()
                Webhook(secret).verify(body, headers)
                verified = True
            except (OSError, WebhookVerificationError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
            try:
                event_type = json.loads(body).get("type")
            except ValueError:
                event_type = None
            with lock:
                answer = 204
                if args.fail_first and event_type == args.fail_first and event_type not in failed_once:
                    failed_once.add(event_type)
                    answer = 500
                line = {
                    "webhook_id": headers.get("webhook-id"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "verified": verified,
                    "error": error,
                    "answered": answer,
                    "body": body.decode("utf-8", "replace"),
                }
                with open(args.log, "a") as log:
                    log.write(json.dumps(line) + "\n")
            self.send_response(answer)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
