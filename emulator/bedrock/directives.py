"""`[standin key=value …]`: behaviour asked for inside the prompt itself.

The SendText handler's only input is the user's text, so end-to-end tests, demos and the benchmark steer the
stand-in through it. Directives are removed from the prompt before the reply is generated.

    [standin fault=throttle]                        ThrottlingException (429) before the stream, every attempt
    [standin fault=validation]                      ValidationException (400) before the stream
    [standin fault=unavailable]                     ServiceUnavailableException (503) before the stream
    [standin fault=denied]                          AccessDeniedException (403) before the stream
    [standin fault=midstream exception=E after=N]   N text deltas, then exception event E
                                                    (throttlingException, modelStreamErrorException, …)
    [standin fault=stall after=N seconds=S]         N text deltas, silence for S seconds, then the rest
    [standin fault=stall after=N seconds=S then=drop]   … then the connection is dropped instead
    [standin tokens=N rate=R ttft_ms=T]             reply length in pieces, tokens/s (0 = unpaced), first-token delay
    [standin jitter=J]                              each gap between deltas varies by up to ±J (0-1) of 1/rate,
                                                    seeded by the prompt, as a real model's pace does
    [standin guardrail=intervene after=N]           N text deltas, then the request's guardrail intervenes
                                                    (refused when the request carries no guardrail)
    [standin reply=B]                               the reply is exactly the UTF-8 text whose base64url is B
                                                    (padding optional), cut into the usual pieces: lets a test
                                                    feed a client Markdown, HTML or any exact text
"""

import base64
import re
from dataclasses import dataclass, fields

from .errors import INITIAL_FAULTS, STREAM_EXCEPTIONS, BedrockError

_DIRECTIVE = re.compile(r"\[standin(?=[\s\]])([^\]]*)\]")
_FAULTS = {*INITIAL_FAULTS, "midstream", "stall"}


@dataclass(frozen=True)
class Directives:
    fault: str | None = None
    exception: str = "modelStreamErrorException"  # fault=midstream: the exception event's type
    after: int = 0  # fault=midstream / stall: text deltas sent first
    seconds: float = 0.0  # fault=stall: how long to stay silent
    then: str = "continue"  # fault=stall: "continue" the reply, or "drop" the connection
    tokens: int | None = None  # reply length in pieces (output tokens)
    rate: float | None = None  # tokens/s, overriding the stand-in's default; 0 = as fast as possible
    ttft_ms: float | None = None  # time to first token, overriding the default
    jitter: float = 0.0  # gaps between deltas vary uniformly within ±jitter of 1/rate (the mean rate holds)
    reply: str | None = None  # the exact reply text (decoded from base64url), instead of the scripted one
    guardrail: str | None = None  # "intervene": the guardrail stops the reply after `after` deltas


def _invalid(message: str) -> BedrockError:
    # A typo in a directive must fail loudly, not silently stream an ordinary reply.
    return BedrockError.validation(f"Bad [standin] directive: {message}")


def _reply(raw: str) -> str:
    # base64url keeps the text clear of the directive's own syntax (spaces, "]") and of any other directive.
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", raw):
            raise ValueError
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise _invalid(f"reply={raw[:20]} is not the base64url of UTF-8 text") from None
    if not text:
        raise _invalid("reply= is empty")
    return text


def _value(key: str, raw: str) -> object:
    if key == "reply":
        return _reply(raw)
    number = {"after": int, "tokens": int, "seconds": float, "rate": float, "ttft_ms": float, "jitter": float}.get(key)
    if number is None:
        return raw
    try:
        value = number(raw)
    except ValueError:
        raise _invalid(f"{key}={raw} is not a number") from None
    if value < (1 if key == "tokens" else 0) or (key == "jitter" and value > 1):
        raise _invalid(f"{key}={raw} is out of range")
    return value


def check_reachable(directives: Directives, deltas: int) -> None:
    """fault=midstream / stall at or past the reply's last delta would never fire: refuse it, so a test cannot
    pass for the wrong reason (issue 15)."""
    if directives.guardrail and directives.after >= deltas:
        raise _invalid(f"guardrail=intervene after={directives.after} never happens: the reply has {deltas} deltas")
    if directives.fault in ("midstream", "stall") and directives.after >= deltas:
        raise _invalid(
            f"fault={directives.fault} after={directives.after} never happens: the reply has {deltas} text deltas; "
            f"ask for more with tokens=N (and max_tokens) or a smaller after"
        )


def parse_directives(text: str) -> tuple[str, Directives]:
    """The prompt without its directives, and what they ask for; BedrockError(ValidationException) if malformed."""
    known = {f.name for f in fields(Directives)}
    values: dict[str, object] = {}
    for match in _DIRECTIVE.finditer(text):
        for item in match.group(1).split():
            key, sep, raw = item.partition("=")
            if not sep or key not in known:
                raise _invalid(f"{item!r}; use key=value with keys {', '.join(sorted(known))}")
            values[key] = _value(key, raw)
    directives = Directives(**values)
    if directives.fault is not None and directives.fault not in _FAULTS:
        raise _invalid(f"fault={directives.fault}; use one of {', '.join(sorted(_FAULTS))}")
    if directives.exception not in STREAM_EXCEPTIONS:
        raise _invalid(f"exception={directives.exception}; use one of {', '.join(sorted(STREAM_EXCEPTIONS))}")
    if directives.guardrail not in (None, "intervene"):
        raise _invalid(f"guardrail={directives.guardrail}; use intervene")
    if directives.then not in {"continue", "drop"}:
        raise _invalid(f"then={directives.then}; use continue or drop")
    # The directive and the whitespace around it become one space, so "Hi [standin …] there" reads "Hi there".
    return re.sub(r"\s*" + _DIRECTIVE.pattern + r"\s*", " ", text).strip(), directives
