"""The chat page with axe-core (pinned in package.json, injected by the test only): no serious or critical
violation on the empty page, a streamed reply with a table and code, an error, and the sign-in form, in the light
and the dark theme; and every control reachable by keyboard with a visible focus ring."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import ask, reply, wait_for_end

pytestmark = pytest.mark.browser

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RICH = (
    "## Summary\n\n| Tool | Score |\n|:--|--:|\n| `ruff` | [9](https://example.com) |\n\n"
    "```python\ndef f(x):\n    return x + 1  # one more\n```\n\n- [x] done\n- [ ] ~~later~~\n\n> quoted"
)


def serious_violations(page: Page) -> list[str]:
    # Evaluated through the DevTools protocol, so the page's CSP (no inline script) stays on while axe runs.
    page.evaluate(AXE.read_text())
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(params=["light", "dark"])
def scheme_page(request, context, site, watch) -> Page:
    page = context.new_page()
    page.emulate_media(color_scheme=request.param)
    page.goto(site.page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    return page


def test_the_empty_page_a_streamed_reply_and_an_error_have_no_serious_violation(scheme_page: Page):
    page = scheme_page
    assert serious_violations(page) == []

    ask(page, f"{reply(RICH)} rich")
    wait_for_end(page)
    assert serious_violations(page) == []

    ask(page, "[standin fault=validation] Hi")
    expect(wait_for_end(page).locator(".meta")).to_contain_text("(ModelError)")
    assert serious_violations(page) == []


def test_the_sign_in_form_has_no_serious_violation(context, site):
    page = context.new_page()
    # A config.json asking for Cognito sign-in at an endpoint nobody answers: the form shows and waits, which is all
    # axe needs.
    config = {"url": site.socket, "outputs": {"Auth": "cognito", "UserPoolClientId": "client"}}
    config["endpoints"] = {"AWS_ENDPOINT_URL_COGNITO_IDP": "http://127.0.0.1:9/"}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    page.goto(site.page)
    expect(page.get_by_label("User name")).to_be_visible()
    assert serious_violations(page) == []


def test_every_control_in_a_reply_is_reachable_by_keyboard_with_a_visible_focus(page: Page):
    ask(page, f"{reply(RICH)} keys")
    answer = wait_for_end(page)
    wanted = {"Copy code", "Copy reply", "9"}
    reached = set()
    page.locator("body").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                       return {text: e.textContent.trim(), outline: getComputedStyle(e).outlineStyle}; }"""
        )
        if focused["text"] in wanted:
            assert focused["outline"] != "none", f"{focused['text']} has no visible focus"
            reached.add(focused["text"])
    assert reached == wanted
    expect(answer.locator(".code-block pre")).to_have_attribute("tabindex", "0")  # scrolls by keyboard too
