"""A folder of static files (a chat page) at `/`, beside the WebSocket route, on the gateway's own port.

Generic: any folder with an index.html. Only the files directly in it are served, each at `/<name>`, plus
`/config.json` telling the page about the API (its WebSocket URL, the stack's outputs, the local AWS endpoints), so
the same page works against any stage, port and sign-in setting.
"""

import json
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from emulator.page import policy as page_policy


def add_routes(app: web.Application, folder: Path, config: Callable[[], dict]) -> None:
    """GET / (index.html), GET /<file> for each file in `folder`, GET /config.json (`config()` at request time,
    unless the folder has its own). Every answer carries the page's policy with connect-src written from the
    config (emulator/page/policy.py): the page can reach the API and its sign-in, nothing else."""
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"{folder}/index.html: no page to serve")
    served = {path.name for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")}
    own_config = "config.json" in served

    def described() -> dict:
        return json.loads((folder / "config.json").read_text()) if own_config else config()

    def headers() -> dict[str, str]:
        return page_policy.headers((folder / "index.html").read_text(), described())

    def serve(path: Path):
        async def handler(_request: web.Request) -> web.StreamResponse:
            if path.name == "index.html":
                text = page_policy.page(path.read_text(), described())
                return web.Response(text=text, content_type="text/html", headers=headers())
            return web.FileResponse(path, headers=headers())

        return handler

    async def serve_config(_request: web.Request) -> web.Response:
        return web.json_response(config(), headers=headers())

    app.router.add_get("/", serve(folder / "index.html"))
    for name in sorted(served):
        app.router.add_get(f"/{name}", serve(folder / name))
    if not own_config:
        app.router.add_get("/config.json", serve_config)
