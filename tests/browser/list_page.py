"""Browser test helpers (the list tests; test_signin.py uses the local Cognito site): chatting on the page,
a `make local AUTH=cognito` with users, and the sidebar's rows."""

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from playwright.sync_api import Page, expect

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


@contextmanager
def signed_in_site(log: Path, usernames: list[str]) -> Iterator[Site]:
    """`make local AUTH=cognito` with these users in its local Cognito, each with PASSWORD."""
    with emulator(log, "--parameter", "Auth=cognito") as running:
        with urllib.request.urlopen(f"{running.page}config.json", timeout=5) as response:
            described = json.load(response)
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=described["endpoints"]["AWS_ENDPOINT_URL_COGNITO_IDP"],
            region_name=described["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
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
