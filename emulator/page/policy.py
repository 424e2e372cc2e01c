"""The chat page's Content-Security-Policy, written from its config.json: `connect-src` names exactly what the config
names (the API's WebSocket URL and, with Cognito sign-in, Cognito's endpoint) and 'self' (config.json itself).

A meta policy is static and the page's settings are not, so whoever serves the page writes the policy:
- emulator/static.py, per request: as a header and into index.html's meta (a browser enforces both, so both must
  name the same places);
- `make web-config` (`python -m emulator.page.policy`), once per deployment: build/web/, a copy of the page with
  config.json, index.html's meta written the same way, and `_headers` (the file Netlify and Cloudflare Pages read)
  with every header a static host should send, including `frame-ancestors`, which a meta policy cannot carry.

index.html's own meta (`connect-src 'self'`) is what a page served without either gets: it can reach nothing.
"""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

_META = re.compile(r'(<meta http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")', re.IGNORECASE)
_CONNECT = re.compile(r"connect-src [^;]*")
COGNITO_ENDPOINT = "AWS_ENDPOINT_URL_COGNITO_IDP"
# Headers beside the policy: no MIME sniffing, no Referer carrying the page's address anywhere, no stale page.
OTHER_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def cognito_endpoint(config: dict) -> str | None:
    """Where the page signs in, as web/app.js derives it: the config's local endpoint, else the region's Cognito
    (only when the stack signs in with Cognito)."""
    local = (config.get("endpoints") or {}).get(COGNITO_ENDPOINT)
    if local:
        return local
    region, auth = config.get("region"), (config.get("outputs") or {}).get("Auth")
    return f"https://cognito-idp.{region}.amazonaws.com/" if region and auth == "cognito" else None


def connect_sources(config: dict) -> list[str]:
    sources = ["'self'", config.get("url") or None, cognito_endpoint(config)]
    return [source for source in sources if source and not re.search(r"[\s;,]", source)]


def meta_policy(index_html: str) -> str | None:
    """The policy in index.html's CSP meta, if it has one."""
    found = _META.search(index_html)
    return found.group(2) if found else None


def with_connect_sources(policy: str, config: dict) -> str:
    return _CONNECT.sub("connect-src " + " ".join(connect_sources(config)), policy)


def page(index_html: str, config: dict) -> str:
    """index.html with its meta policy's connect-src naming exactly what `config` names."""
    return _META.sub(lambda m: m.group(1) + with_connect_sources(m.group(2), config) + m.group(3), index_html)


def headers(index_html: str, config: dict) -> dict[str, str]:
    """The headers to send with every file of the page: its meta policy (connect-src written from `config`) plus
    frame-ancestors 'none', and OTHER_HEADERS."""
    policy = with_connect_sources(meta_policy(index_html) or "default-src 'self'", config)
    return {"Content-Security-Policy": f"{policy}; frame-ancestors 'none'", **OTHER_HEADERS}


def write_site(web_dir: Path, out: Path, config: dict) -> None:
    """build/web/ for a static host: web/'s files, config.json, index.html's policy written, and `_headers`."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for path in sorted(web_dir.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.name != "config.json":
            shutil.copy2(path, out / path.name)
    index_html = (web_dir / "index.html").read_text()
    (out / "index.html").write_text(page(index_html, config))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    lines = ["/*", *(f"  {name}: {value}" for name, value in headers(index_html, config).items())]
    (out / "_headers").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.page.policy", description=__doc__)
    parser.add_argument("--web-dir", type=Path, default=Path("web"))
    parser.add_argument("--out", type=Path, default=Path("build/web"))
    parser.add_argument("--url", required=True, help="the API's wss:// URL")
    parser.add_argument("--auth", default="none", help="none | cognito | oidc | token")
    parser.add_argument("--client-id", default="", help="the user pool's app client id (Auth=cognito)")
    parser.add_argument("--region", default="")
    parser.add_argument("--models", default="", help="the stack's Models output: the picker's choices, comma-separated")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"wss?://[^\s;,]+", args.url):
        parser.error(f"--url must be a ws:// or wss:// URL, not {args.url!r}")
    outputs = {"Auth": args.auth}
    if args.client_id and args.client_id != "None":
        outputs["UserPoolClientId"] = args.client_id
    if args.models and args.models != "None":
        outputs["Models"] = args.models
    config = {"url": args.url, "region": args.region, "outputs": outputs}
    write_site(args.web_dir, args.out, config)
    print(f"Wrote {args.out}/ (config.json, index.html, _headers) for {args.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
