"""Sign-in on the chat page, against `make local AUTH=cognito` (the emulator's authorizer and moto's Cognito)."""

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.pages import PASSWORD, local_cognito, signed_in_site

pytestmark = pytest.mark.browser

USER = "alice"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with signed_in_site(tmp_path_factory.mktemp("emulator") / "emulator.log", [USER]) as running:
        yield running


@pytest.fixture
def signin_page(context, site: Site, watch) -> Page:
    page = context.new_page()
    page.clock.install()  # a fake clock, to reach the token's refresh time without waiting an hour
    page.goto(site.page)
    return page


def sign_in(page: Page, password: str = PASSWORD) -> None:
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_page_asks_to_sign_in_then_chats_with_the_token(signin_page: Page):
    page = signin_page
    expect(page.get_by_role("status")).to_have_text("Not connected: sign in below")
    sign_in(page, "wrong password")
    expect(page.locator("#signin-note")).to_contain_text("Sign-in failed")
    expect(page.get_by_role("status")).not_to_have_text("Connected")

    sign_in(page)

    expect(page.get_by_role("status")).to_have_text("Connected")
    expect(page.locator("#signin")).to_be_hidden()
    page.get_by_label("Message", exact=True).fill("Hello, AI! What you can do?")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator(".message.assistant .meta")).to_contain_text("tokens in")


def test_the_token_is_refreshed_before_it_expires_and_the_socket_reopened_with_it(signin_page: Page, site: Site):
    page = signin_page
    flows: list[str] = []
    offered: list[list[str]] = []  # each connection's subprotocols, then on to the emulator as they are
    urls: list[str] = []  # and the URL each opened: the token travels in the subprotocol only

    def on_request(request) -> None:
        if "InitiateAuth" in (request.headers.get("x-amz-target") or ""):
            flows.append(json.loads(request.post_data)["AuthFlow"])

    def through(ws) -> None:
        offered.append(ws.protocols)
        urls.append(ws.url)
        ws.connect_to_server()

    page.on("request", on_request)
    page.route_web_socket(site.socket, through)
    sign_in(page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    first = page.evaluate("JSON.parse(sessionStorage.getItem('bedrock-ws-chat.session')).token")

    page.clock.fast_forward("56:00")  # Cognito's tokens last 60 minutes; the page refreshes 5 minutes early

    for _ in range(100):
        if len(offered) >= 2:
            break
        page.wait_for_timeout(50)
    expect(page.get_by_role("status")).to_have_text("Connected")
    second = page.evaluate("JSON.parse(sessionStorage.getItem('bedrock-ws-chat.session')).token")
    assert flows == ["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"]
    assert offered == [["bedrock-ws-chat", first], ["bedrock-ws-chat", second]] and first != second
    assert urls == [site.socket, site.socket]  # never in the URL, where access logs and proxies keep it
    page.reload()  # still signed in (this tab's session), no form
    expect(page.get_by_role("status")).to_have_text("Connected")
    expect(page.locator("#signin")).to_be_hidden()


def test_sign_out_revokes_the_refresh_token(signin_page: Page, site: Site):
    page = signin_page
    sign_in(page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    session = page.evaluate("JSON.parse(sessionStorage.getItem('bedrock-ws-chat.session'))")
    cognito, described = local_cognito(site)
    client_id = described["outputs"]["UserPoolClientId"]

    def refresh() -> dict:
        return cognito.initiate_auth(
            ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": session["refreshToken"]}
        )

    assert "AccessToken" in refresh()["AuthenticationResult"]  # a working refresh token, until sign-out
    with page.expect_response(lambda r: "RevokeToken" in (r.request.headers.get("x-amz-target") or "")) as revoked:
        page.get_by_role("button", name="Sign out").click()
    assert revoked.value.ok
    expect(page.locator("#signin-note")).to_have_text("Signed out.")
    assert page.evaluate("sessionStorage.getItem('bedrock-ws-chat.session')") is None
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        refresh()
