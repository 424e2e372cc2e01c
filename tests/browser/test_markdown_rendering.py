"""What models write, rendered in headless Chromium against the emulator: GFM tables, highlighted code with Copy,
strikethrough and task lists, a reply streamed in small pieces, and attacks inside all of them (issue 26)."""

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import ask, reply, scripted_server, wait_for_end

pytestmark = pytest.mark.browser

TABLE = (
    "Compare:\n\n"
    "| Name | Kind | Size |\n"
    "|:-----|:----:|-----:|\n"
    "| `ruff` | [linter](https://docs.astral.sh/ruff/) | **12** |\n"
    "| black | formatter |\n"  # ragged: one cell short
    "| a \\| b | x | 3 | extra |\n"  # an escaped pipe; one cell too many
    "\nAfter the table."
)


@pytest.fixture
def clipboard(context, site) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.page.rstrip("/"))


def rows(table) -> list[list[str]]:
    return [row.locator("th, td").all_text_contents() for row in table.locator("tr").all()]


def test_a_table_renders_with_alignment_inline_markdown_and_ragged_rows(page: Page, watch):
    ask(page, f"{reply(TABLE)} compare")
    answer = wait_for_end(page)

    table = answer.locator("table")
    assert rows(table) == [
        ["Name", "Kind", "Size"],
        ["ruff", "linter", "12"],
        ["black", "formatter", ""],
        ["a | b", "x", "3"],
    ]
    headers = table.locator("th").all()
    assert [th.get_attribute("scope") for th in headers] == ["col"] * 3
    assert [th.get_attribute("data-align") for th in headers] == ["left", "center", "right"]
    assert table.locator("td").nth(2).evaluate("td => getComputedStyle(td).textAlign") == "right"
    expect(table.locator("td code")).to_have_text("ruff")
    expect(table.locator("td a")).to_have_attribute("href", "https://docs.astral.sh/ruff/")
    expect(table.locator("td strong")).to_have_text("12")
    expect(answer.locator(".body p")).to_have_text(["Compare:", "After the table."])
    assert not watch.errors


def test_a_wide_table_scrolls_in_its_own_box_and_the_page_does_not(page: Page):
    wide = (
        "| "
        + " | ".join(f"column{n}" for n in range(30))
        + " |\n|"
        + "---|" * 30
        + "\n| "
        + " | ".join("value-without-breaks" for _ in range(30))
    )
    ask(page, f"{reply(wide)} wide")
    answer = wait_for_end(page)

    box = answer.locator(".table-wrap")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth + 100"), "the table should overflow its box"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "the page itself must not scroll"
    assert box.get_attribute("tabindex") == "0"  # keyboard users can scroll it


CODE = {
    "python": ("def greet(name):\n    return f'hi {name}'  # say it", {"keyword": "def", "comment": "# say it"}),
    "js": ("const n = 42;\nconsole.log(`n=${n}`);", {"keyword": "const", "number": "42"}),
    "bash": ('for f in *.txt; do\n  echo "$f"\ndone', {"keyword": "for"}),
    "json": ('{"a": [1, true, null]}', {"property": '"a"', "boolean": "true"}),
}


def test_code_blocks_show_their_language_are_highlighted_and_copy_exactly_the_code(page: Page, clipboard, watch):
    text = "\n\n".join(f"```{lang}\n{code}\n```" for lang, (code, _) in CODE.items())
    ask(page, f"{reply(text + chr(10) * 2 + '```' + chr(10) + 'plain <b>text</b>' + chr(10) + '```')} code")
    answer = wait_for_end(page)

    blocks = answer.locator(".code-block")
    expect(blocks).to_have_count(len(CODE) + 1)
    for n, (lang, (code, tokens)) in enumerate(CODE.items()):
        block = blocks.nth(n)
        expect(block.locator(".code-lang")).to_have_text(lang)
        expect(block.locator("code")).to_have_text(code)
        for kind, word in tokens.items():
            expect(block.locator(f"code .token.{kind}").first).to_have_text(word)
        block.get_by_role("button", name="Copy code").click()
        expect(block.get_by_role("button")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == code
    plain = blocks.last
    expect(plain.locator("code")).to_have_text("plain <b>text</b>")
    expect(plain.locator(".token")).to_have_count(0)
    expect(plain.locator("b")).to_have_count(0)
    colour = blocks.first.locator(".token.keyword").first.evaluate("t => getComputedStyle(t).color")
    assert colour != blocks.first.locator("code").evaluate("c => getComputedStyle(c).color"), "keywords are coloured"
    assert not watch.errors


def test_copy_reply_copies_the_markdown_the_model_wrote(page: Page, clipboard):
    text = "**Bold** start\n\n```python\nx = 1\n```\n\n- [x] done"
    ask(page, f"{reply(text)} copy all")
    answer = wait_for_end(page)

    answer.get_by_role("button", name="Copy reply").click()

    assert page.evaluate("navigator.clipboard.readText()") == text
    page.reload()  # a reply redrawn from the history has its Copy too
    expect(page.get_by_role("status")).to_have_text("Connected")
    page.locator(".message.assistant").last.get_by_role("button", name="Copy reply").click()
    assert page.evaluate("navigator.clipboard.readText()") == text


def test_strikethrough_task_lists_and_rules_render(page: Page):
    text = "Plan ~~old~~ new\n\n---\n\n- [x] write it\n- [ ] ship **it**\n- plain item"
    ask(page, f"{reply(text)} tasks")
    answer = wait_for_end(page)

    expect(answer.locator("del")).to_have_text("old")
    expect(answer.locator("hr")).to_have_count(1)
    boxes = answer.locator("li input[type=checkbox]")
    expect(boxes).to_have_count(2)
    expect(boxes.first).to_be_checked()
    expect(boxes.last).not_to_be_checked()
    expect(boxes.first).to_be_disabled()  # shown, not clickable
    expect(boxes.last).to_have_accessible_name("ship it")
    expect(answer.locator("li")).to_have_text(["write it", "ship it", "plain item"])
    expect(answer.locator("li strong")).to_have_text("it")


# A reply that opens a table and a fence and fills them in: rendered from the stand-in's small pieces.
STREAMED = (
    "## Results\n\nIntro paragraph.\n\n"
    "| Tool | Score |\n|:--|--:|\n" + "".join(f"| tool{n} | {n * 7} |\n" for n in range(8)) + "\n"
    "```python\n" + "".join(f"value_{n} = {n}  # step {n}\n" for n in range(10)) + "```\n\n"
    "- first point\n- second point\n\nClosing words."
)


def test_a_table_and_a_fence_streamed_in_small_pieces_render_sensibly_and_settle(page: Page, watch):
    page.evaluate(
        """() => {
          window.seen = {pipes: 0, openTable: 0, openFence: 0, maxRemoved: 0, batches: 0};
          new MutationObserver((records) => {
            const body = document.querySelector(".message.assistant:last-of-type .body");
            if (!body || !body.closest(".streaming")) return;
            window.seen.batches++;
            const removed = records.filter((r) => r.target === body).reduce((n, r) => n + r.removedNodes.length, 0);
            window.seen.maxRemoved = Math.max(window.seen.maxRemoved, removed);
            if ([...body.querySelectorAll("p")].some((p) => p.textContent.trim().startsWith("|"))) window.seen.pipes++;
            const rows = body.querySelectorAll("tbody tr").length;
            if (body.querySelector("table") && rows < 8) window.seen.openTable++;
            const code = body.querySelector(".code-block code");
            if (code && !code.textContent.includes("step 9")) window.seen.openFence++;
          }).observe(document.getElementById("log"), {childList: true, subtree: true});
        }"""
    )
    # Slow enough that FrameIntervalMs (125 ms by default) still splits it into many frames.
    ask(page, f"[standin rate=50] {reply(STREAMED)} stream it")
    answer = wait_for_end(page)

    seen = page.evaluate("window.seen")
    assert seen["batches"] > 12, f"the reply should arrive in many small pieces: {seen}"
    assert seen["pipes"] == 0, "half a table is shown as a table, never as a line of pipes"
    assert seen["openTable"] > 0 and seen["openFence"] > 0, f"open blocks render while they stream: {seen}"
    # Settled blocks stay: each render replaces only the open last block or two, never the whole reply.
    assert seen["maxRemoved"] <= 2, seen
    streamed = answer.locator(".body").inner_html()
    rendered = page.evaluate(
        """async (text) => {
          const {renderMarkdown} = await import("/markdown.js");
          const div = document.createElement("div");
          div.append(renderMarkdown(text));
          return div.innerHTML;
        }""",
        STREAMED,
    )
    assert streamed == rendered, "once the reply ends it is exactly the reply rendered at once"
    assert len(answer.locator("tbody tr").all()) == 8
    assert not watch.errors


def test_the_remaining_daily_budget_is_shown_quietly_when_the_end_frame_has_it(context, site):
    page = context.new_page()
    usage = {"input_tokens": 3, "output_tokens": 2}
    end = {"type": "end", "stop_reason": "end_turn", "usage": usage}
    answers = [
        ['"Hi"', json.dumps({**end, "budget": {"limit": 50000, "remaining": 12345}})],
        ['"Again"', json.dumps(end)],
        ['"Odd"', json.dumps({**end, "budget": {"remaining": "<img src=x>"}})],
    ]
    scripted_server(page, site, answers, [])

    ask(page, "one")
    first = wait_for_end(page)
    expect(first.locator(".budget")).to_have_text("budget left today: 12,345")
    ask(page, "two")
    expect(wait_for_end(page).locator(".budget")).to_have_count(0)
    ask(page, "three")
    expect(wait_for_end(page).locator(".budget")).to_have_count(0)


ATTACKS = [
    '<img src=x onerror="window.pwned=1">',
    "<script>window.pwned=2</script>",
    '<a href="javascript:window.pwned=3">x</a>',
    "[click](javascript:window.pwned=4)",
    '<svg onload="window.pwned=5">',
]


def test_attacks_inside_table_cells_fence_info_strings_and_code_stay_inert(page: Page, watch):
    cells = "| attack | where |\n|---|---|\n" + "".join(f"| {a} | cell |\n" for a in ATTACKS)
    fences = "".join(f"```{a}\ncode\n```\n\n" for a in ATTACKS)
    names = "".join(f"```{name}\n{ATTACKS[0]}\n```\n\n" for name in ("extend", "__proto__", "constructor", "DFS"))
    code = "```html\n" + "\n".join(ATTACKS) + "\n```\n\n```javascript\n" + "\n".join(ATTACKS) + "\n```"
    ask(page, f"{reply(cells + chr(10) + fences + names + code)} be evil")
    answer = wait_for_end(page)

    expect(answer.locator("tbody tr")).to_have_count(len(ATTACKS))
    expect(answer.locator("tbody td:first-child")).to_have_text(ATTACKS)
    expect(answer.locator(".code-block").last.locator("code")).to_have_text("\n".join(ATTACKS))
    for tag in ("img", "script", "svg", "iframe"):
        expect(page.locator(f"#log {tag}")).to_have_count(0)
    expect(answer.locator("a")).to_have_count(0)
    handlers = page.evaluate(
        """() => [...document.querySelectorAll("#log *")].flatMap((e) =>
             [...e.attributes].map((a) => a.name).filter((n) => n.startsWith("on")))"""
    )
    assert handlers == []
    page.wait_for_timeout(200)  # an onerror or onload handler would have run by now
    assert page.evaluate("window.pwned") is None
    assert not watch.dialogs and not watch.errors and not watch.foreign


def test_a_screen_reader_hears_settled_blocks_not_every_token(page: Page):
    text = "First paragraph here.\n\nSecond paragraph, a little longer than the first.\n\nThird and last."
    expect(page.locator("#log")).not_to_have_attribute("aria-live", "polite")
    page.evaluate(
        """() => {
          window.spoken = 0;
          new MutationObserver((records) => { window.spoken += records.length; })
            .observe(document.getElementById("announcer"), {childList: true, subtree: true, characterData: true});
        }"""
    )
    ask(page, f"[standin rate=100] {reply(text)} speak")
    wait_for_end(page)

    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer.locator("p")).to_have_text(text.split("\n\n"))
    assert page.evaluate("window.spoken") <= 4  # a clear, then one per block: not one per token


def test_only_http_and_https_links_become_links(page: Page, watch):
    """An allow-list, not a block-list: every other scheme stays text, however it is spelled. (None of these URLs
    holds a parenthesis, so each is parsed as a link and reaches the check.)"""
    refused = [
        "javascript:window.pwned=6",
        "JavaScript:window.pwned=7",
        "vbscript:msgbox",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "blob:https://example.com/0",
        "ftp://example.com/",
        "//example.com/protocol-relative",
    ]
    allowed = ["https://example.com/a", "http://example.com/b"]
    text = "\n\n".join(f"[link {n}]({url})" for n, url in enumerate(refused + allowed))
    ask(page, f"{reply(text)} links")
    answer = wait_for_end(page)
    expect(answer.locator("a")).to_have_count(len(allowed))
    hrefs = answer.locator("a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert hrefs == allowed
    for n, url in enumerate(refused):
        expect(answer).to_contain_text(f"[link {n}]({url})")
    assert page.evaluate("window.pwned") is None and not watch.dialogs
