"""Browser test helpers: asking and reading replies on the page, a scripted server in the emulator's place, a
`make local AUTH=cognito` with users and its Cognito client, and the sidebar's rows."""

import base64
import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import Site, emulator

PASSWORD = "Str0ng-passphrase!"
SHORT = "[standin tokens=4]"  # a few tokens per reply: the tests stay fast


def chat(page: Page, text: str) -> None:
    """Send `text` and wait for its reply's end line."""
    count = page.locator(".message.assistant").count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator(".message.assistant")).to_have_count(count + 1)
    expect(page.locator(".message.assistant").last.locator(".meta")).not_to_be_empty()


def titles(page: Page):
    return page.locator("#chats-list .chat-title")


def local_cognito(site: Site) -> tuple[object, dict]:
    """A boto3 client of the emulator's Cognito, and the page's config.json that names it."""
    with urllib.request.urlopen(f"{site.page}config.json", timeout=5) as response:
        described = json.load(response)
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=described["endpoints"]["AWS_ENDPOINT_URL_COGNITO_IDP"],
        region_name=described["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return cognito, described


@contextmanager
def signed_in_site(log: Path, usernames: list[str]) -> Iterator[Site]:
    """`make local AUTH=cognito` with these users in its local Cognito, each with PASSWORD."""
    with emulator(log, "--parameter", "Auth=cognito") as running:
        cognito, described = local_cognito(running)
        pool = described["outputs"]["UserPoolId"]
        for username in usernames:
            cognito.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
            cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
        yield running


def signed_in_page(browser, site: Site, username: str) -> Page:
    """A wide page in a browser context of its own (its own storage), signed in as `username`."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(5000)
    page = context.new_page()
    page.goto(site.page)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_have_text("Connected")
    return page


def reply(text: str) -> str:
    """A stand-in directive making the reply exactly `text`."""
    return f"[standin reply={base64.urlsafe_b64encode(text.encode()).decode().rstrip('=')}]"


def ask(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")


def last_reply(page: Page):
    return page.locator(".message.assistant").last


def wait_for_end(page: Page):
    """The last reply, once its end (usage) or error line is shown."""
    answer = last_reply(page)
    expect(answer.locator(".meta")).not_to_be_empty()
    return answer


def scripted_server(page: Page, site, answers: list[list[str]], connections: list[WebSocketRoute]) -> None:
    """Connections to the page's API (its config.json's URL, here scripted instead of the emulator's) answer the
    n-th message with the frames in answers[n]."""

    def handler(ws: WebSocketRoute) -> None:
        connections.append(ws)
        ws.on_message(lambda _message: [ws.send(frame) for frame in answers.pop(0)])

    page.route_web_socket(site.socket, handler)
    page.goto(site.page)
    expect(page.get_by_role("status")).to_have_text("Connected")


def gateway_frame(message: str) -> str:
    return json.dumps({"message": message, "connectionId": "L3o2=", "requestId": "L3o3="})
