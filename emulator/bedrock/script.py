"""The scripted model: a deterministic reply per prompt, cut into the small pieces Claude streams.

Same prompt, same reply, same pieces, in every process and on every run, so tests can assert the exact
concatenation and the benchmark compares like with like. Nothing here is random at run time: the only
"randomness" is a PRNG seeded from the prompt.
"""

import hashlib
import math
import random
import re

# The original article's prompt gets the reply it showed: a greeting and a list of what the assistant can do.
_CAPABILITIES = (
    "Hello! I'm an AI assistant made by Anthropic, here to be helpful, harmless, and honest. "
    "Here are some of the things I can do:\n\n"
    "• Answer questions and explain ideas, from science and history to everyday how-tos\n"
    "• Write and edit: emails, essays, summaries, stories, and poems\n"
    "• Help with code: write it, review it, explain it, and track down bugs\n"
    "• Analyze text and data, compare options, and reason through problems step by step\n"
    "• Brainstorm ideas, plan projects, and talk things through\n"
    "• Translate between languages and adjust the tone or style of a text\n\n"
    "I can't browse the internet, remember past conversations, or take actions outside this chat. "
    "What would you like to work on?"
)
_GREETING = re.compile(r"^\s*(hello|hi|hey)\b|what (can you|you can) do", re.IGNORECASE)

_OPENINGS = (
    "Thanks for the question.",
    "Good question!",
    "Happy to help with that.",
    "Let me take a look at that.",
    "Sure, let's work through it.",
)
# Continuation paragraphs: general enough to follow any prompt, so a reply of any length still reads as text.
_PARAGRAPHS = (
    "First, it helps to pin down what a good answer looks like, so we know when we are done. "
    "A clear goal keeps the details from crowding out the point.",
    "Next, I would break the problem into smaller steps and take them one at a time. "
    "Each step is easier to check on its own, and mistakes show up early instead of at the end.",
    "It is also worth asking what has already been tried. "
    "Knowing what did not work is often as useful as knowing what did.",
    "If there are several options, a short comparison of their costs and benefits usually makes the choice "
    "obvious. When it does not, the options are probably close enough that either will do.",
    "Examples make ideas concrete. A small, worked example often explains more than a page of general description.",
    "Finally, keep an eye on the edge cases: the empty input, the very large one, and the one that arrives "
    "twice. They are where most surprises hide.",
    "None of this has to happen in one go. "
    "A rough first version that we improve together is usually faster than aiming for perfect at once.",
)
_CLOSING = "Would you like me to go into more detail on any part of this?"

# One "unit" is roughly one Claude token: a word with its leading space, a number, one or two letters of a
# script written without spaces, or one punctuation mark. Every character falls in exactly one unit.
_UNIT = re.compile(r"\s*(?:[A-Za-z']+|\d{1,3}|[^\W\dA-Za-z_]{1,2}|[^\w\s]|_)|\s+")


def prompt_hash(prompt: str) -> str:
    """How the stand-in's records name a prompt without keeping its text."""
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


def _rng(*parts: object) -> random.Random:
    return random.Random(int(hashlib.sha256(repr(parts).encode()).hexdigest()[:16], 16))


def _base_reply(prompt: str) -> str:
    if _GREETING.search(prompt):
        return _CAPABILITIES
    rng = _rng("base", prompt)
    words = prompt.split()
    topic = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
    opening = _OPENINGS[int(rng.random() * len(_OPENINGS))]
    first = int(rng.random() * len(_PARAGRAPHS))
    body = "\n\n".join(_PARAGRAPHS[(first + i) % len(_PARAGRAPHS)] for i in range(2))
    about = f' You asked about "{topic}", and here is how I would approach it.' if topic else ""
    return f"{opening}{about}\n\n{body}\n\n{_CLOSING}"


def chunk(text: str, seed: str) -> list[str]:
    """Cut `text` into stream pieces of 1-4 units, now and then splitting a long word, as Claude's deltas do
    (the article's transcript: "Hello", "! I'm", " an AI", " assistant create", "d by Anthropic")."""
    rng = _rng("chunk", seed)
    units = _UNIT.findall(text)
    pieces: list[str] = []
    i = 0
    while i < len(units):
        size = 1 + sum(rng.random() < p for p in (0.5, 0.2, 0.05))
        piece = "".join(units[i : i + size])
        i += size
        following = units[i] if i < len(units) else ""
        if len(following.strip()) >= 7 and rng.random() < 0.15:
            cut = len(following) - 1 - int(rng.random() * 3)
            piece, units[i] = piece + following[:cut], following[cut:]
        pieces.append(piece)
    return pieces


def reply_pieces(prompt: str, tokens: int | None = None, text: str | None = None) -> list[str]:
    """The reply's stream pieces; each counts as one output token. With `tokens`, exactly that many pieces:
    the reply is extended with further paragraphs as needed, then cut. `text` (the `reply=` directive) replaces
    the scripted text."""
    pieces = chunk(_base_reply(prompt) if text is None else text, prompt)
    if tokens is None:
        return pieces
    rng = _rng("more", prompt)
    start = int(rng.random() * len(_PARAGRAPHS))
    extra = 0
    while len(pieces) < tokens:
        paragraph = _PARAGRAPHS[(start + extra) % len(_PARAGRAPHS)]
        pieces += chunk("\n\n" + paragraph, f"{prompt}#{extra}")
        extra += 1
    return pieces[:tokens]


def scripted_reply(prompt: str, tokens: int | None = None) -> str:
    """The full text the stand-in streams for `prompt` (with any `[standin …]` directive already removed)."""
    return "".join(reply_pieces(prompt, tokens))


FRAMING_TOKENS = 7  # what the Messages framing adds, about


def text_tokens(text: str) -> int:
    """English averages about four characters per Claude token."""
    return math.ceil(len(text) / 4)


def estimate_input_tokens(texts: list[str]) -> int:
    return sum(text_tokens(text) for text in texts) + FRAMING_TOKENS
