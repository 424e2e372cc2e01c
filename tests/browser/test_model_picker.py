"""The chat page's model picker: shown when the stack lists several models (its Models output), each message asks
the model picked, and the stack's default is picked first. Without a list (every other module) there is none."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

DEFAULT, NOVA = "jp.anthropic.claude-haiku-4-5-20251001-v1:0", "amazon.nova-lite-v1:0"
EMULATOR_ARGS = ("--parameter", "ModelApi=converse", "--parameter", f"ModelIds={NOVA}")


def ask(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator(".message.assistant").last.locator(".meta")).not_to_be_empty()


def test_the_picker_lists_the_stacks_models_and_each_message_asks_the_one_picked(page: Page, site, watch):
    picker = page.get_by_label("Model", exact=True)
    expect(picker).to_be_visible()
    expect(picker.locator("option")).to_have_text([DEFAULT, NOVA])
    ask(page, "Which model is this? [standin tokens=5]")
    picker.select_option(NOVA)
    ask(page, "And now? [standin tokens=5]")
    assert [record["model_id"] for record in site.streams()[-2:]] == [DEFAULT, NOVA]
    assert {record["operation"] for record in site.streams()} == {"ConverseStream"}
    assert not watch.errors and not watch.foreign
