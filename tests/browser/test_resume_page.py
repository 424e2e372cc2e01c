"""The page and a dropped socket (issue 27): it resumes the reply on its new connection and finishes the answer, from
the one model stream; Stop asks the server to stop instead of closing the socket."""

import pytest
from playwright.sync_api import WebSocketRoute, expect

from emulator.bedrock.script import scripted_reply
from tests.browser.pages import ask, last_reply

pytestmark = pytest.mark.browser

PROMPT = "Tell me about rivers"


def test_a_page_that_loses_its_socket_mid_reply_resumes_it_and_finishes_the_answer(context, site, watch):
    page = context.new_page()
    sockets: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute) -> None:  # the page's sockets, passed through to the emulator
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket(site.socket, through)
    page.goto(site.page)
    expect(page.get_by_role("status")).to_have_text("Connected")
    text = f"[standin rate=40 tokens=200] {PROMPT}"
    ask(page, text)
    expect(last_reply(page).locator(".body")).not_to_be_empty()  # some of it arrived
    sockets[0].close(code=4000, reason="Network lost")
    expect(last_reply(page).locator(".meta")).to_contain_text("resumes")

    answer = last_reply(page)
    expect(answer.locator(".meta")).to_contain_text("200 out", timeout=15_000)
    assert len(sockets) == 2  # the page reconnected once, and the reply went on there
    shown, script = answer.locator(".body").inner_text(), scripted_reply(PROMPT, 200)
    assert shown.split() == script.split()  # every word once, in order (the page renders paragraphs apart)
    (record,) = (r for r in site.streams() if r["planned"] == 200)
    assert not record["closed_early"]  # one model stream, never stopped or restarted
    assert watch.errors == []


def test_stop_pressed_before_the_first_delta_still_stops_the_model(page, site):
    text = f"[standin ttft_ms=1000 rate=20 tokens=400] {PROMPT}"
    ask(page, text)
    page.get_by_role("button", name="Stop").click()  # before the model's first token, perhaps before StreamReply began

    expect(last_reply(page).locator(".meta")).to_contain_text("stopped · ")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    (record,) = (r for r in site.streams() if r["planned"] == 400 and r["messages"] == 1)
    # Stopped, not finished: how soon is tests/e2e/test_resume.py's to measure (a browser under load is no clock).
    assert record["closed_early"] and record["deltas"] < 400
