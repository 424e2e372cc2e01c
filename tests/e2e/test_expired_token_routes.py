"""Every route ends with the token (issue 23, item 6), through the emulator: main.yml with Auth=oidc and a local
issuer. A token accepted at $connect within the 30 s clock-skew leeway has already passed its `exp`, so it is
exactly a connection whose token expired after connecting: each route answers Unauthorized, none reads or deletes."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import websockets

from emulator import template
from emulator.cloud import LocalCloud
from tests.local_cloud import ROOT, chat_environment, receive_json
from tests.tokens_for_tests import Signer, access_claims

pytestmark = pytest.mark.e2e

SIGNER = Signer()
AUDIENCE = "chat-page"


@pytest.fixture
def issuer() -> Iterator[str]:
    """An OpenID Connect issuer on a free port: its discovery document and its JWKS (SIGNER's key)."""

    class Issuer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            documents = {
                "/.well-known/openid-configuration": {"issuer": base, "jwks_uri": f"{base}/jwks.json"},
                "/jwks.json": {"keys": [SIGNER.jwk()]},
            }
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def token(issuer: str, exp: int) -> str:
    claims = {k: v for k, v in access_claims(iss=issuer, aud=AUDIENCE, exp=exp).items() if k != "client_id"}
    return SIGNER.token(**claims)


async def test_history_forget_and_default_refuse_a_token_that_expired_after_connecting(standin, issuer):
    api = template.load(ROOT / "main.yml", {"Auth": "oidc", "OidcIssuer": issuer, "OidcAudience": AUDIENCE})
    gateway = LocalCloud(api, chat_environment(standin.url), port=0)
    await gateway.start()
    try:
        now = int(time.time())
        async with websockets.connect(gateway.url, subprotocols=["bedrock-ws-chat", token(issuer, now + 600)]) as ws:
            await ws.send(json.dumps({"action": "history"}))  # a live token: the route answers
            assert (await receive_json(ws))["code"] == "ConversationNotFound"
        expired = token(issuer, now - 5)  # within the door's leeway: let in, then past its exp on every route
        async with websockets.connect(gateway.url, subprotocols=["bedrock-ws-chat", expired]) as ws:
            for message in ({"action": "history"}, {"action": "forget"}, {"action": "chat"}):
                await ws.send(json.dumps(message))
                assert (await receive_json(ws))["code"] == "Unauthorized", message
    finally:
        await gateway.stop()
