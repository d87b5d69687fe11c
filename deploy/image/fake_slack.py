"""A Slack Web API that only answers auth.test, for the image's smoke test (stdlib only).

``serve`` checks its token with auth.test at start and refuses to run without the scopes the
manifest asks for; the smoke test has no Slack, so this answers as an installed app would:
``python3 fake_slack.py PORT SCOPE,SCOPE,...``.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    """Serve on 127.0.0.1:PORT until killed."""
    port, scopes = int(sys.argv[1]), sys.argv[2]

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = self.path.endswith("/auth.test")
            body = json.dumps({"ok": True, "url": "https://smoke.slack.com/", "team": "smoke",
                               "user": "triage-bot", "team_id": "T0SMOKE",
                               "user_id": "U0SMOKE", "bot_id": "B0SMOKE"} if ok
                              else {"ok": False, "error": "unknown_method"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-oauth-scopes", scopes)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    HTTPServer(("127.0.0.1", port), Answer).serve_forever()


if __name__ == "__main__":
    main()
