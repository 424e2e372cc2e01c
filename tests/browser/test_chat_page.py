"""The chat page against the emulator, in headless Chromium: what a user sees and what the page must never do."""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from websockets.sync.client import connect

from emulator.bedrock.script import prompt_hash, reply_pieces, scripted_reply
from tests.browser.pages import ask, gateway_frame, last_reply, reply, scripted_server, wait_for_end

pytestmark = pytest.mark.browser

ARTICLE = "Hello, AI! What you can do?"
ROOT = Path(__file__).parents[2]


def test_the_articles_message_streams_in_and_renders_with_its_usage(page: Page, watch, tmp_path):
    page.evaluate(
        """() => {
          window.renders = [];
          new MutationObserver(() => {
            const body = document.querySelector(".message.assistant .body");
            if (body) window.renders.push(body.textContent.length);
          }).observe(document.getElementById("log"), {childList: true, subtree: true, characterData: true});
        }"""
    )
    ask(page, ARTICLE)
    answer = wait_for_end(page)

    expect(page.locator(".message.user .body")).to_have_text(ARTICLE)
    expected = scripted_reply(ARTICLE)
    expect(answer.locator("p").first).to_have_text(expected.split("\n")[0])
    items = [line.removeprefix("• ") for line in expected.split("\n") if line.startswith("• ")]
    expect(answer.locator("li")).to_have_text(items)  # the "•" lines render as a list
    output_tokens = len(reply_pieces(ARTICLE))
    expect(answer.locator(".meta")).to_have_text(f"14 tokens in, {output_tokens} out")
    lengths = sorted(set(page.evaluate("window.renders")))
    final = len(answer.locator(".body").text_content())
    assert any(0 < n < final for n in lengths), f"the reply should appear piece by piece, not at once: {lengths}"
    assert not watch.errors and not watch.dialogs and not watch.foreign

    shot = Path(os.environ.get("SCREENSHOT") or tmp_path / "chat.png")
    page.set_viewport_size({"width": 720, "height": 640})
    page.screenshot(path=shot)
    assert shot.stat().st_size > 10_000


def test_markdown_headings_lists_code_and_http_links_render(page: Page, watch):
    text = (
        "# Plan\n\nSteps:\n\n1. **Read** the *docs*\n2. Run `make test`\n   - nested _point_\n\n"
        "```python\nprint('<b>hi</b>')\n```\n\n"
        "See [the guide](https://example.com/guide) or https://example.org/x. "
        "Not [this](javascript:alert(1)) nor [that](data:text/html,hi)."
    )
    ask(page, f"{reply(text)} show me")
    answer = wait_for_end(page)

    expect(answer.locator("h3")).to_have_text("Plan")
    expect(answer.locator("ol > li")).to_have_count(2)
    expect(answer.locator("ol strong")).to_have_text("Read")
    expect(answer.locator("ol em").first).to_have_text("docs")
    expect(answer.locator("li code")).to_have_text("make test")
    expect(answer.locator("ol ul li")).to_have_text("nested point")
    expect(answer.locator("pre code")).to_have_text("print('<b>hi</b>')")
    expect(answer.locator("pre b")).to_have_count(0)
    links = answer.locator("a")
    expect(links).to_have_count(2)
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        "https://example.com/guide",
        "https://example.org/x",
    ]
    assert all("noopener" in (links.nth(i).get_attribute("rel") or "") for i in range(2))
    expect(answer).to_contain_text("Not [this](javascript:alert(1)) nor [that](data:text/html,hi).")
    assert not watch.foreign  # links are not followed or prefetched


def test_html_and_script_in_a_reply_are_shown_as_text_and_run_nothing(page: Page, watch):
    payload = (
        '<img src=x onerror="window.pwned=1;alert(1)"> <script>window.pwned=2</script>\n\n'
        "![tracker](https://example.com/pixel.png) <iframe src=https://example.com></iframe> "
        '<a href="javascript:window.pwned=3">click</a>'
    )
    ask(page, f"{reply(payload)} be evil")
    answer = wait_for_end(page)

    expect(answer).to_contain_text('<img src=x onerror="window.pwned=1;alert(1)"> <script>window.pwned=2</script>')
    expect(answer).to_contain_text("<iframe src=https://example.com></iframe>")
    for tag in ("img", "script", "iframe"):
        expect(page.locator(f"#log {tag}")).to_have_count(0)
    expect(answer.locator("a[href^=javascript]")).to_have_count(0)
    page.wait_for_timeout(200)  # an onerror handler would have run by now
    assert page.evaluate("window.pwned") is None
    assert not watch.dialogs and not watch.errors and not watch.foreign


def test_error_frames_are_shown_as_readable_messages(page: Page):
    ask(page, "[standin fault=validation] Hi")
    expect(wait_for_end(page).locator(".meta")).to_have_text(
        "The model failed to answer. The model rejected the request. (ModelError)"
    )

    ask(page, "[standin fault=midstream after=6] Tell me about rivers")
    answer = wait_for_end(page)
    expect(answer.locator(".meta")).to_contain_text("(ModelError)")
    expect(answer.locator(".body")).to_have_text("".join(reply_pieces("Tell me about rivers")[:6]).strip())
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_stop_stops_the_model_at_once_on_the_same_socket_and_the_conversation_goes_on(page: Page, site):
    ask(page, "Hi")
    wait_for_end(page)
    prompt = "[standin rate=20 tokens=400] Tell me about rivers"
    ask(page, prompt)
    expect(last_reply(page).locator(".body")).to_contain_text("Tell me about rivers")
    page.get_by_role("button", name="Stop").click()

    # The server's end frame, on the same connection: stopped, with what the model was paid for.
    expect(last_reply(page).locator(".meta")).to_contain_text("stopped · ")
    expect(page.get_by_role("status")).to_have_text("Connected")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    record = record_of(site, prompt)
    assert record["closed_early"] and record["deltas"] < 400 and record["ended_at"] is not None

    ask(page, "Go on")  # the same conversation: both turns go to the model, the stopped one too
    wait_for_end(page)
    expect(page.locator(".message.assistant").nth(1).locator(".meta")).to_contain_text("stopped · ")
    assert record_of(site, "Go on")["messages"] == 5


def record_of(site, prompt: str) -> dict:
    (record,) = (r for r in site.streams() if r["prompt_hash"] == prompt_hash(prompt))
    return record


def stored_id(page: Page) -> str | None:
    """The conversation id the page keeps for its API (kept per API URL: it is only ever sent back there)."""
    return page.evaluate(
        "Object.entries(localStorage).find(([k]) => k.startsWith('bedrock-ws-chat.conversationId@'))?.[1] ?? null"
    )


def test_a_reload_resumes_the_conversation_and_redraws_its_history(page: Page, site):
    first = f"{reply('**Nice** to meet you, Ada.')} My name is Ada"
    ask(page, first)
    wait_for_end(page)
    ask(page, "What is my name?")
    wait_for_end(page)
    conversation = stored_id(page)
    replies = page.locator(".message.assistant .body").all_text_contents()

    page.reload()

    expect(page.get_by_role("status")).to_have_text("Connected")
    expect(page.locator(".message.user .body")).to_have_text([first, "What is my name?"])
    expect(page.locator(".message.assistant .body")).to_have_text(replies)
    expect(page.locator(".message.assistant strong")).to_have_text("Nice")  # Markdown again, from the history
    expect(page.locator(".message.assistant .meta").first).to_contain_text("tokens in")
    ask(page, "And again?")
    wait_for_end(page)
    assert stored_id(page) == conversation
    assert record_of(site, "And again?")["messages"] == 5


def test_new_chat_starts_a_fresh_conversation_and_delete_chat_forgets_it(page: Page, site, watch):
    ask(page, "Hi there")
    wait_for_end(page)
    first = stored_id(page)
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".message")).to_have_count(0)
    ask(page, "Hello again")
    wait_for_end(page)
    second = stored_id(page)
    assert first and second and second != first
    assert record_of(site, "Hello again")["messages"] == 1

    watch.accept = True
    page.get_by_role("button", name="Delete chat").click()

    expect(page.locator("#note")).to_have_text("Chat deleted.")
    expect(page.locator(".message")).to_have_count(0)
    assert stored_id(page) is None
    assert watch.dialogs == ["Delete this chat from the server? This cannot be undone."]
    with connect(site.socket) as ws:  # gone on the server too
        ws.send(json.dumps({"action": "history", "conversationId": second}))
        answer = json.loads(ws.recv(timeout=5))
    assert answer.get("code") == "ConversationNotFound" or answer.get("turns") == []


def test_a_message_over_32_kb_is_refused_before_sending(page: Page):
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    page.reload()
    expect(page.get_by_role("status")).to_have_text("Connected")
    box = page.get_by_label("Message", exact=True)
    box.fill("é" * 16_400)  # 32,800 bytes as UTF-8: under 32 K characters, over 32 KB

    box.press("Enter")

    expect(page.locator("#note")).to_contain_text("too long to send")
    expect(page.locator("#note")).to_contain_text("32,768 bytes")
    expect(page.locator(".message")).to_have_count(0)
    expect(box).to_have_value("é" * 16_400)
    assert sent == []

    exactly = "a" * (32_768 - len('{"action":"sendtext","text":"","resumable":true}'))  # exactly 32 KB still goes
    box.fill(exactly)
    box.press("Enter")
    wait_for_end(page)
    assert [len(frame.encode()) for frame in sent] == [32_768]
    expect(page.get_by_role("status")).to_have_text("Connected")  # the emulator's frame quota let it through


def test_shift_enter_is_a_new_line_and_enter_sends(page: Page):
    box = page.get_by_label("Message", exact=True)
    box.fill("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")

    box.press("Enter")

    expect(page.locator(".message.user .body")).to_have_text("first line\nsecond line")
    wait_for_end(page)


# --- frames the emulator's main.yml never sends: a scripted server in the page's place ---------------------


def test_history_in_several_frames_is_joined_turn_by_turn(context, site):
    page = context.new_page()
    page.add_init_script(f"localStorage.setItem('bedrock-ws-chat.conversationId@{site.socket}', 'c-1')")
    usage = {"input_tokens": 5, "output_tokens": 7}
    turn = {"stop_reason": "end_turn", "status": "complete", "usage": usage}

    def part(number: int, turns: list[dict]) -> str:
        return json.dumps({"type": "history", "conversationId": "c-1", "part": number, "parts": 2, "turns": turns})

    answers = [
        [
            part(1, [{"turn": 1, "user": "first", "assistant": "one", **turn}, {"turn": 2, "user": "sec", **turn}]),
            part(2, [{"turn": 2, "user": "ond", "assistant": "a **bo", **turn}, {"turn": 2, "assistant": "ld** end"}]),
        ]
    ]
    scripted_server(page, site, answers, [])

    expect(page.locator(".message.user .body")).to_have_text(["first", "second"])
    expect(page.locator(".message.assistant .body")).to_have_text(["one", "a bold end"])
    expect(page.locator(".message.assistant strong")).to_have_text("bold")
    expect(page.locator(".message.assistant .meta")).to_have_text(["5 tokens in, 7 out"] * 2)


def test_every_error_code_reads_as_a_sentence(context, site):
    page = context.new_page()
    readable = {
        "BadRequest": "The server could not use that message.",
        "UnknownAction": "The server does not know that request.",
        "Throttled": "The model is busy right now. Try again in a moment.",
        "ModelError": "The model failed to answer.",
        "Internal": "Something went wrong on the server.",
        "ConversationNotFound": "That conversation no longer exists.",
        "ConversationBusy": "This conversation is still answering another message. Wait for it, or press Stop.",
        "Unauthorized": "Your sign-in has expired. Sign in again.",
        "QuotaExceeded": "Today's token budget does not cover another reply.",
        "TooManyReplies": "Your other replies are still answering. Wait for one to finish.",
        "GuardrailIntervened": "The content guardrail stopped this reply.",
    }
    answers = [[json.dumps({"type": "error", "code": code, "message": "Details."})] for code in readable]
    scripted_server(page, site, answers, [])

    for code, sentence in readable.items():
        ask(page, "Hi")
        expect(wait_for_end(page).locator(".meta")).to_have_text(f"{sentence} Details. ({code})")
        if code == "ConversationNotFound":
            expect(page.locator("#note")).to_have_text("Your next message starts a new conversation.")


def test_api_gateways_own_frames_are_shown(context, site):
    page = context.new_page()
    end = json.dumps({"type": "end", "stop_reason": "max_tokens", "usage": {"input_tokens": 3, "output_tokens": 2}})
    answers = [
        [gateway_frame("Forbidden")],
        [gateway_frame("Internal server error")],
        ['"Long "', gateway_frame("Endpoint request timed out"), '"reply"', end],
    ]
    scripted_server(page, site, answers, [])

    ask(page, "Hi")
    expect(wait_for_end(page).locator(".meta")).to_have_text("The gateway refused the request (Forbidden).")
    ask(page, "Hi")
    expect(wait_for_end(page).locator(".meta")).to_have_text(
        "The server failed to handle the request (Internal server error)."
    )
    ask(page, "Hi")  # after API Gateway's 29 s the function goes on streaming: so does the page
    answer = wait_for_end(page)
    expect(answer.locator(".meta")).to_have_text("cut off at the reply length limit · 3 tokens in, 2 out")
    expect(answer.locator(".body")).to_have_text("Long reply")


def test_the_page_reconnects_when_the_socket_drops(context, site):
    page = context.new_page()
    connections: list[WebSocketRoute] = []
    scripted_server(page, site, [], connections)

    connections[0].close(code=1001, reason="Going away")  # API Gateway's idle timeout: reopen at once

    for _ in range(50):
        if len(connections) == 2:
            break
        page.wait_for_timeout(50)
    assert len(connections) == 2
    expect(page.get_by_role("status")).to_have_text("Connected")
