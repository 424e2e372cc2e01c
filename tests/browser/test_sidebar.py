"""The conversation list on the chat page (issue 24), in headless Chromium against `make local`: anonymous (the
page keeps the ids it created) and signed in with the local Cognito (two users who never see each other's list)."""

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.browser.pages import SHORT, chat, signed_in_page, signed_in_site, titles

pytestmark = pytest.mark.browser


@pytest.fixture
def wide(context, site: Site, watch) -> Page:
    """The page at desktop width, where the list is open beside the chat."""
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(site.page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    return page


def test_two_chats_are_listed_switched_renamed_exported_and_deleted(wide: Page, watch):
    page = wide
    chat(page, f"{SHORT} How do tides work?")
    expect(titles(page)).to_have_text([f"{SHORT} How do tides work?"])
    page.get_by_role("button", name="New chat").click()
    chat(page, f"{SHORT} A recipe for bread")
    expect(titles(page)).to_have_text([f"{SHORT} A recipe for bread", f"{SHORT} How do tides work?"])
    expect(titles(page).first).to_have_attribute("aria-current", "true")

    page.get_by_label("Filter chats by title").fill("TIDES")
    expect(titles(page)).to_have_text([f"{SHORT} How do tides work?"])
    page.get_by_label("Filter chats by title").fill("")

    titles(page).nth(1).click()  # switch: its history is drawn, and the next message continues it
    expect(page.locator(".message.user .body")).to_have_text([f"{SHORT} How do tides work?"])
    expect(titles(page).nth(1)).to_have_attribute("aria-current", "true")

    page.get_by_role("button", name=f"Rename {SHORT} How do tides work?").click()
    page.get_by_label("New title").fill("Moon and tides")
    page.get_by_label("New title").press("Enter")
    expect(titles(page)).to_have_text([f"{SHORT} A recipe for bread", "Moon and tides"])

    with page.expect_download() as markdown:
        page.get_by_role("button", name="Export Markdown").click()
    text = markdown.value.path().read_text(encoding="utf-8")
    assert text.startswith("# Moon and tides\n") and f"## You\n\n{SHORT} How do tides work?" in text
    with page.expect_download() as as_json:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(as_json.value.path().read_text(encoding="utf-8"))
    assert exported["title"] == "Moon and tides" and exported["turns"][0]["user"] == f"{SHORT} How do tides work?"
    assert markdown.value.suggested_filename == "Moon and tides.md"
    expect(page.locator(".message.user .body")).to_have_count(1)  # exporting left the view as it was

    chat(page, f"{SHORT} And the sun?")  # continues the switched-to chat, which moves to the top
    expect(titles(page)).to_have_text(["Moon and tides", f"{SHORT} A recipe for bread"])

    page.reload()  # an anonymous page keeps the ids it created, per API URL
    expect(titles(page)).to_have_text(["Moon and tides", f"{SHORT} A recipe for bread"])

    watch.accept = True
    page.get_by_role("button", name=f"Delete {SHORT} A recipe for bread").click()
    expect(titles(page)).to_have_text(["Moon and tides"])
    assert watch.dialogs[-1].startswith(f"Delete “{SHORT} A recipe for bread”")
    expect(page.get_by_role("button", name="Delete all")).to_be_hidden()  # anonymous: no principal to delete by
    assert watch.errors == [] and watch.foreign == []


def test_at_phone_width_the_list_is_a_menu(context, site: Site):
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(site.page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    chat(page, f"{SHORT} Pocket question")
    chats = page.get_by_role("button", name="Chats")
    expect(chats).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#chats")).to_be_hidden()
    chats.click()
    expect(titles(page)).to_have_text([f"{SHORT} Pocket question"])
    chats.click()  # the button stays in reach above the open menu
    expect(page.locator("#chats")).to_be_hidden()


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with signed_in_site(tmp_path_factory.mktemp("signed-in") / "emulator.log", ["alice", "bob"]) as running:
        yield running


def test_signed_in_users_see_only_their_own_lists_and_delete_all(browser, signed_in: Site):
    alice = signed_in_page(browser, signed_in, "alice")
    bob = signed_in_page(browser, signed_in, "bob")
    try:
        chat(alice, f"{SHORT} Alice one")
        alice.get_by_role("button", name="New chat").click()
        chat(alice, f"{SHORT} Alice two")
        chat(bob, f"{SHORT} Bob one")
        expect(titles(alice)).to_have_text([f"{SHORT} Alice two", f"{SHORT} Alice one"])
        expect(titles(bob)).to_have_text([f"{SHORT} Bob one"])
        alice.reload()  # signed in, the server keeps the list: nothing comes from this browser's storage
        alice.on("dialog", lambda dialog: dialog.accept())
        expect(titles(alice)).to_have_count(2)
        alice.get_by_role("button", name="Delete all").click()
        expect(titles(alice)).to_have_count(0)
        expect(alice.locator("#log .message")).to_have_count(0)
        bob.reload()
        expect(titles(bob)).to_have_text([f"{SHORT} Bob one"])
    finally:
        alice.context.close()
        bob.context.close()
