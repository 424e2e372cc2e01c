"""Bedrock stand-in: a local bedrock-runtime endpoint that boto3 cannot tell from the real one.

`python -m emulator.bedrock --port 4010` to run it on its own; `BedrockStandIn` in-process (async),
`BackgroundStandIn` from synchronous code. The README's "Bedrock stand-in" section has the details.
"""

from .background import BackgroundStandIn
from .directives import Directives, parse_directives
from .errors import BedrockError
from .records import StreamRecord
from .script import chunk, estimate_input_tokens, prompt_hash, reply_pieces, scripted_reply
from .server import BedrockStandIn

__all__ = [
    "BackgroundStandIn",
    "BedrockError",
    "BedrockStandIn",
    "Directives",
    "StreamRecord",
    "chunk",
    "estimate_input_tokens",
    "parse_directives",
    "prompt_hash",
    "reply_pieces",
    "scripted_reply",
]
