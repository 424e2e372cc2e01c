"""Issue 27 in pieces: the resume and stop routes' writes to the control item and their conditions (Stubber), the
catch-up frames, and the relay's switch to a new connection, driven step by step (each character exactly once,
however the switch falls against the posts)."""

import json
import queue
import threading
import time

import pytest
from botocore.stub import ANY
from table_items import CONNECTION, CONVERSATION_ID, NOW, current, item

from connections import ClientGone
from handlers import conversations
from protocol import resume_frames
from reply.outcome import Outcome
from reply.relay import relay
from reply.steering import Controlled, Order, Steering, conclude

WAIT = 10.0  # only ever reached when something is broken (a hang), never by a slow machine
END = object()
CONTROL_KEY = {"pk": {"S": f"reply#{CONVERSATION_ID}"}, "sk": {"N": "3"}}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)


def call(message_event, route: str, **fields) -> list[dict]:
    message_event["requestContext"]["routeKey"] = route
    message_event["body"] = json.dumps({"action": route, "conversationId": CONVERSATION_ID, **fields})
    assert conversations.handler(message_event, None) == {"statusCode": 200}
    return []


def streaming() -> dict:
    """Turn 3, pending: its reply is streaming."""
    return {"Items": [item(3, "Q?", "", status="pending", deadline_at=int(NOW * 1000) + 60_000)]}


def control(**attributes) -> dict:
    values = {name: {"N": str(value)} if isinstance(value, int) else {"S": value} for name, value in attributes.items()}
    return {"Item": {**CONTROL_KEY, **values}}


def conflict(table) -> None:
    table.add_client_error("update_item", "ConditionalCheckFailedException", http_status_code=400)


def test_a_resume_of_a_streaming_reply_names_the_version_it_read_and_sends_nothing_itself(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response("get_item", {})  # no control item yet: nobody resumed this reply
    table.add_response(
        "update_item",
        {},
        {
            "TableName": ANY,
            "Key": CONTROL_KEY,
            "UpdateExpression": (
                "SET version = :next, connectionId = :connection, resumeFrom = :from, expiresAt = :expires"
            ),
            "ConditionExpression": "attribute_not_exists(closed) AND attribute_not_exists(version)",
            "ExpressionAttributeValues": {
                ":next": {"N": "1"},
                ":connection": {"S": CONNECTION},
                ":from": {"N": "7"},
                ":expires": ANY,
            },
        },
    )
    call(message_event, "resume", **{"from": 7})
    assert posts.sent == []  # StreamReply sends the catch-up


def test_a_resume_after_another_whose_connection_has_gone_wins_on_the_version_it_read(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response("get_item", control(version=1, connectionId="Earlier-connection=", resumeFrom=3))
    posts.add_client_error("get_connection", "GoneException", http_status_code=410)
    table.add_response(
        "update_item",
        {},
        {
            "TableName": ANY,
            "Key": CONTROL_KEY,
            "UpdateExpression": ANY,
            "ConditionExpression": "attribute_not_exists(closed) AND version = :seen",
            "ExpressionAttributeValues": {
                ":next": {"N": "2"},
                ":seen": {"N": "1"},
                ":connection": {"S": CONNECTION},
                ":from": {"N": "0"},
                ":expires": ANY,
            },
        },
    )
    call(message_event, "resume", **{"from": 0})
    assert posts.sent == []


def test_a_resume_while_the_earlier_resumer_is_still_connected_is_busy(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response("get_item", control(version=1, connectionId="Earlier-connection=", resumeFrom=3))
    posts.add_response("get_connection", {})
    posts.accept()
    call(message_event, "resume", **{"from": 0})
    assert json.loads(posts.sent[0])["code"] == "ConversationBusy"


def test_of_two_resumes_at_once_the_one_whose_write_lost_is_busy(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response("get_item", {})
    conflict(table)  # the other one wrote version 1 first
    table.add_response("get_item", control(version=1, connectionId="Other-connection=", resumeFrom=0))
    posts.accept()
    call(message_event, "resume", **{"from": 0})
    assert json.loads(posts.sent[0]) == {
        "type": "error",
        "code": "ConversationBusy",
        "message": "A reply in this conversation is still streaming; wait for its end.",
        "conversationId": CONVERSATION_ID,
    }


def test_a_resume_that_loses_to_the_close_is_answered_from_the_stored_turn(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response("get_item", {})
    conflict(table)  # StreamReply closed the item after storing the turn
    table.add_response("get_item", control(closed=1))
    table.add_response("query", {"Items": [item(3, "Q?", "Hello there")]})
    posts.accept()
    posts.accept()
    call(message_event, "resume", **{"from": 6})
    resumed, end = (json.loads(f) for f in posts.sent)
    assert resumed == {"type": "resume", "conversationId": CONVERSATION_ID, "text": "there", "offset": 6}
    assert end["type"] == "end" and end["stop_reason"] == "end_turn" and end["usage"]["output_tokens"] == 5


def test_a_resume_of_an_ended_reply_reads_only_the_newest_turn_and_sends_the_rest_and_the_end(
    message_event, posts, table
):
    table.add_response("query", {"Items": [item(3, "Q?", "Hello there")]})
    posts.accept()
    posts.accept()
    call(message_event, "resume", **{"from": 99})  # more than the reply has: nothing more to send
    assert [name for name, _ in table.calls] == ["Query"] and table.calls[0][1]["Limit"] == 1
    resumed, end = (json.loads(f) for f in posts.sent)
    assert (resumed["text"], resumed["offset"], end["type"]) == ("", 11, "end")


@pytest.mark.parametrize(
    "turn", [item(3, "Q?", "A", owner="someone-else"), item(3, "Q?", "A", expires_at=int(NOW) - 1), None]
)
def test_resume_and_stop_of_someone_elses_expired_or_unknown_conversation_are_not_found(
    message_event, posts, table, turn
):
    for route in ("resume", "stop"):
        table.add_response("query", {"Items": [turn] if turn else []})
        if route == "stop" and turn is None:
            table.add_response("get_item", {})  # not this connection's own new conversation either
        posts.accept()
        call(message_event, route)
    assert [json.loads(f)["code"] for f in posts.sent] == ["ConversationNotFound"] * 2


def test_a_stop_before_the_connections_new_conversation_has_a_turn_says_nothing(message_event, posts, table):
    """The page sends `stop` as soon as `started` names the conversation, which may be before StreamReply has
    reserved the turn: not an unknown conversation (the page would drop it and show an error), but nothing yet to
    stop. The page asks again at the first delta."""
    table.add_response("query", {"Items": []})
    table.add_response("get_item", current())  # the connection's current conversation: this one
    call(message_event, "stop")
    assert posts.sent == []


@pytest.mark.parametrize("body", [{"from": -1}, {"from": "3"}, {"from": True}, {"conversationId": None}])
def test_a_bad_resume_is_a_bad_request(message_event, posts, table, body):
    posts.accept()
    call(message_event, "resume", **body)
    assert json.loads(posts.sent[0])["code"] == "BadRequest"


def test_stop_marks_the_streaming_reply_stopped_unless_it_is_closed(message_event, posts, table):
    table.add_response("query", streaming())
    table.add_response(
        "update_item",
        {},
        {
            "TableName": ANY,
            "Key": CONTROL_KEY,
            "UpdateExpression": "SET stopped = :yes, expiresAt = :expires",
            "ConditionExpression": "attribute_not_exists(closed)",
            "ExpressionAttributeValues": {":yes": {"N": "1"}, ":expires": ANY},
        },
    )
    table.add_response("query", streaming())
    conflict(table)  # it ended meanwhile: nothing to stop, and nothing to say
    call(message_event, "stop")
    call(message_event, "stop")
    assert posts.sent == []


@pytest.mark.parametrize("text", ["plain " * 20_000, "😀" * 10_000, ""])
def test_catch_up_frames_stay_under_the_limit_and_rejoin_to_the_text_at_their_offsets(text):
    frames = resume_frames(CONVERSATION_ID, text, 5, limit=32_000)
    assert all(len(frame.encode()) < 32_000 for frame in frames)
    parsed = [json.loads(frame) for frame in frames]
    assert "".join(p["text"] for p in parsed) == text
    position = 5
    for p in parsed:
        assert p["offset"] == position
        position += len(p["text"])


# --- the relay's switch, driven step by step ---------------------------------------------------------------------
class Stream:
    """A model stream the test feeds; `closed` is set when the relay closes it."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self.closed = threading.Event()

    def feed(self, *pieces) -> None:
        for piece in pieces:
            self._queue.put(piece)

    def __iter__(self):
        while (piece := self._queue.get(timeout=WAIT)) is not END:
            yield piece

    def close(self) -> None:
        self.closed.set()
        self._queue.put(END)


def text_of(piece: str) -> str:
    return piece  # the test's events are their own text (`read` below)


class Connection:
    """A client's connection: records what it was posted; `hold()` keeps the next post in flight until `release`
    (which may make it fail with ClientGone)."""

    def __init__(self) -> None:
        self.frames: list[object] = []
        self.posted = threading.Condition()
        self.in_flight = threading.Event()  # a held post has started
        self._release: queue.Queue | None = None

    def wait_frames(self, count: int) -> None:
        with self.posted:
            assert self.posted.wait_for(lambda: len(self.frames) >= count, WAIT), f"{len(self.frames)} frames"

    def hold(self) -> None:
        self._release = self._gate = queue.Queue()

    def release(self, gone: bool = False) -> None:
        self._gate.put(gone)

    def __call__(self, frame: str) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            self.in_flight.set()
            if release.get(timeout=WAIT):
                raise ClientGone("old")
        with self.posted:
            self.frames.append(json.loads(frame))
            self.posted.notify_all()

    def text(self) -> str:
        return "".join(
            f if isinstance(f, str) else f["text"] for f in self.frames if isinstance(f, str) or f["type"] == "resume"
        )


class Steered(Steering):
    """A reply's control item as the test drives it: `order()` queues what the next poll returns; `polls` counts
    the polls, so a test knows the watcher has acted on an order (it polls again only after)."""

    interval_s = 0.001

    def __init__(self, send, grace_s: float = 60.0) -> None:
        super().__init__(send, CONVERSATION_ID, grace_s)
        self.orders: queue.Queue = queue.Queue()
        self.connections: dict[str, Connection] = {}
        self.polled = threading.Condition()
        self.polls = 0

    @property
    def watched(self) -> bool:
        return True

    def order(self, order: Order) -> None:
        """Queue `order`; return once the watcher has acted on it (a resume: it polls again only after switching)."""
        with self.polled:
            self.orders.put(order)
            start = self.polls
            if order.connection_id is not None:
                assert self.polled.wait_for(lambda: self.polls >= start + 2, WAIT), "the watcher stopped polling"

    def poll(self) -> Order | None:
        with self.polled:
            self.polls += 1
            self.polled.notify_all()
        try:
            return self.orders.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> Order | None:
        try:
            return self.orders.get_nowait()
        except queue.Empty:
            return None

    def send_to(self, connection_id: str) -> Connection:
        return self.connections.setdefault(connection_id, Connection())


def run(stream: Stream, steering: Steered, first: Connection) -> tuple[threading.Thread, list[Outcome]]:
    done: list[Outcome] = []
    thread = threading.Thread(
        target=lambda: done.append(
            relay(stream, first, stream.close, Outcome(), read=lambda e, _o: e, steering=steering)
        ),
        daemon=True,
    )
    thread.start()
    return thread, done


PIECES = [f"<{n}>" for n in range(12)]


def test_a_post_to_the_old_connection_failing_after_the_switch_does_not_lose_the_reply_nor_double_a_character():
    old, stream = Connection(), Stream()
    steering = Steered(old)
    thread, done = run(stream, steering, old)
    old.hold()  # the first post to the old connection stays in flight
    stream.feed(PIECES[0])
    assert old.in_flight.wait(WAIT)
    stream.feed(*PIECES[1:3])  # pending for the old connection
    # The old client holds nothing it will keep: it resumes from 0 while the post to it is failing.
    steering.order(Order(connection_id="new", offset=0))
    old.release(gone=True)
    stream.feed(*PIECES[3:], END)
    thread.join(WAIT)
    (outcome,) = done
    new = steering.connections["new"]
    assert new.text() == "".join(PIECES)  # the catch-up (what was pending for the old one included), then live
    assert not outcome.gone and not outcome.stopped and outcome.complete and outcome.text == "".join(PIECES)
    assert steering.target is new


def test_a_client_gone_with_a_grace_period_keeps_the_model_going_and_the_resume_gets_every_character_once():
    old, stream = Connection(), Stream()
    steering = Steered(old)
    thread, done = run(stream, steering, old)
    stream.feed(PIECES[0])
    old.wait_frames(1)
    old.hold()
    stream.feed(PIECES[1])
    old.release(gone=True)  # <1> never reached the client
    stream.feed(*PIECES[2:6])  # read for nobody, kept
    steering.order(Order(connection_id="new", offset=len(PIECES[0])))
    stream.feed(*PIECES[6:], END)
    thread.join(WAIT)
    (outcome,) = done
    assert old.text() == PIECES[0]
    assert old.text() + steering.connections["new"].text() == "".join(PIECES)
    assert not stream.closed.is_set() and outcome.complete


def test_a_resume_that_wins_the_race_with_the_end_is_served_by_conclude_then_the_close():
    old, stream = Connection(), Stream()
    steering = Steered(old)
    thread, done = run(stream, steering, old)
    old.hold()
    stream.feed(*PIECES, END)
    old.release(gone=True)
    thread.join(WAIT)
    (outcome,) = done
    steering.orders.put(Order(connection_id="late", offset=0))  # the close finds it
    assert conclude(steering, outcome.text, outcome.stopped)
    assert steering.connections["late"].text() == "".join(PIECES) and steering.target is steering.connections["late"]


def test_stop_closes_the_stream_at_once_and_the_deltas_already_read_still_go_out():
    client, stream = Connection(), Stream()
    steering = Steered(client)
    thread, done = run(stream, steering, client)
    stream.feed(*PIECES[:4])
    steering.order(Order(stop=True))
    assert stream.closed.wait(WAIT)
    thread.join(WAIT)
    (outcome,) = done
    assert outcome.halted == "stopped" and outcome.stop_reason == "stopped" and not outcome.complete
    assert client.text() == outcome.text and outcome.error is None


def test_with_nobody_resuming_the_grace_period_ends_the_model():
    client, stream = Connection(), Stream()
    steering = Steered(client, grace_s=0.05)
    thread, done = run(stream, steering, client)
    client.hold()
    stream.feed(PIECES[0])
    client.release(gone=True)
    assert stream.closed.wait(WAIT)  # the watcher closed it: no resume came
    thread.join(WAIT)
    (outcome,) = done
    assert outcome.halted == "gone" and outcome.gone and outcome.stopped and not outcome.complete


def test_streamreply_takes_each_resume_and_the_stop_once_from_its_control_item(table):
    steering = Controlled(lambda frame: None, CONVERSATION_ID, 3)
    table.add_response("get_item", {})
    table.add_response("get_item", control(version=1, connectionId="New-connection=", resumeFrom=12))
    table.add_response("get_item", control(version=1, connectionId="New-connection=", resumeFrom=12, stopped=1))
    table.add_response("get_item", control(version=1, connectionId="New-connection=", resumeFrom=12, stopped=1))
    orders = [steering.poll() for _ in range(4)]
    assert orders == [None, Order(connection_id="New-connection=", offset=12), Order(stop=True), None]
    assert all(params["ConsistentRead"] and params["Key"] == CONTROL_KEY for _, params in table.calls)


def test_the_close_names_the_version_served_and_a_resume_that_won_the_race_is_served_first(table):
    steering = Controlled(lambda frame: None, CONVERSATION_ID, 3)
    closing = {"TableName": ANY, "Key": CONTROL_KEY, "UpdateExpression": "SET closed = :yes, expiresAt = :expires"}
    table.add_response(
        "update_item",
        {},
        {
            **closing,
            "ConditionExpression": "attribute_not_exists(version)",
            "ExpressionAttributeValues": {":yes": {"N": "1"}, ":expires": ANY},
        },
    )
    assert steering.close() is None  # nobody resumed: closed

    steering = Controlled(lambda frame: None, CONVERSATION_ID, 3)
    conflict(table)  # a resume came in after the last poll
    table.add_response("get_item", control(version=1, connectionId="Late-connection=", resumeFrom=4))
    table.add_response(
        "update_item",
        {},
        {
            **closing,
            "ConditionExpression": "version = :seen",
            "ExpressionAttributeValues": {":yes": {"N": "1"}, ":seen": {"N": "1"}, ":expires": ANY},
        },
    )
    assert steering.close() == Order(connection_id="Late-connection=", offset=4)
    assert steering.close() is None
