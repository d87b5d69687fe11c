"""The webhook benchmark's baseline as its own process: read the body, parse JSON, answer 200.

Run by bench/webhook_throughput.py as ``python -m bench.bare_server PORT``.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    """What any webhook receiver does at the least."""
    json.loads(await request.read())
    return web.json_response({"status": "ok"})


def main() -> None:
    """Serve on 127.0.0.1:PORT until terminated."""
    app = web.Application()
    app.router.add_post("/alerts/alertmanager", handle)
    app.router.add_get("/readyz", lambda _: web.json_response({"ready": True}))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
