"""ReplyFailed's work: a reply that never finished gets the error frame the client would otherwise never see.

An event dropped before it ran (EventAgeExceeded) reserved no turn and spent nothing: its budget reservation is
released. An invocation that crashed or timed out (RetriesExhausted) may have reserved its turn, which is marked
failed so the conversation takes the next message at once; what it spent is unknown, so its reservation stays
counted, and only its place among the owner's replies in flight is given back.
"""

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

import connections
from conversation import budget, store
from protocol import REPLY_FAILED, REPLY_NOT_STARTED, ProtocolError, error_frame
from reply.handover import Handover
from telemetry.logs import log


@dataclass
class Failed:
    error: ProtocolError  # what the client was told
    turn_failed: bool  # the turn the crashed invocation reserved is now marked failed
    gone: bool  # the client had left


def report(given: Handover, condition: str | None, invocation_id: str | None) -> Failed:
    turn = given.begun.turn
    ran = condition != "EventAgeExceeded"
    error = REPLY_FAILED if ran else REPLY_NOT_STARTED
    turn_failed = ran and _fail(turn, reserved_by=invocation_id)
    reservation = given.reservation
    try:
        budget.settle(reservation, reservation.units if reservation and ran else 0)
    except Exception as exc:
        log("budget", level="ERROR", cause=repr(exc))
    gone = not connections.tell(given.connection_id, error_frame(error, turn.conversation_id))
    return Failed(error, turn_failed, gone)


def _fail(turn: store.Turn, reserved_by: str | None) -> bool:
    """Mark the turn failed if the invocation that failed (the record's request id) reserved it and it is still
    pending. A turn never reserved, finished or deleted meanwhile is left as it is."""
    if not reserved_by:
        return False
    turn.status, turn.assistant, turn.request_id = "failed", "", reserved_by
    try:
        store.finish(turn)
    except (store.Conflict, ClientError, BotoCoreError):
        return False
    return True
