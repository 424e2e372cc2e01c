"""A folder of static files (a chat page) at `/`, beside the WebSocket route, on the gateway's own port.

Generic: any folder with an index.html. Only the files directly in it are served, each at `/<name>`, plus
`/config.json` telling the page about the API (its WebSocket URL, the stack's outputs, the local AWS endpoints), so
the same page works against any stage, port and sign-in setting.
"""

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

# Sent with every file as a second wall behind the page's own meta policy: scripts and styles only from this
# origin, nothing inline, no images, frames, plugins or form posts; sockets and fetches (sign-in) anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss: http: https:; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # edits to the page show on reload
}


def add_routes(app: web.Application, folder: Path, config: Callable[[], dict]) -> None:
    """GET / (index.html), GET /<file> for each file in `folder`, GET /config.json (`config()` at request time,
    unless the folder has its own)."""
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"{folder}/index.html: no page to serve")

    def serve(path: Path):
        async def handler(_request: web.Request) -> web.FileResponse:
            return web.FileResponse(path, headers=HEADERS)

        return handler

    async def serve_config(_request: web.Request) -> web.Response:
        return web.json_response(config(), headers=HEADERS)

    app.router.add_get("/", serve(folder / "index.html"))
    names = set()
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            app.router.add_get(f"/{path.name}", serve(path))
            names.add(path.name)
    if "config.json" not in names:
        app.router.add_get("/config.json", serve_config)
