"""Bedrock stand-in: a local bedrock-runtime endpoint that boto3 cannot tell from the real one.

`python -m emulator.bedrock --port 4010` to run it on its own; `server.BedrockStandIn` in-process (async),
`background.BackgroundStandIn` from synchronous code. The README's "Bedrock stand-in" section has the details.

- server.py: the HTTP server (h2c.py: HTTP/2 without TLS, as the JS SDK speaks it), errors.py: Bedrock's errors.
- invocation.py: the request body as a Claude model reads it; directives.py: what a prompt asks of the stand-in.
- script.py: the scripted replies; records.py: what each request did, for tests and benchmarks.
- eventstream.py, anthropic.py: the wire: `application/vnd.amazon.eventstream` and the Anthropic stream events
  (standard library only: unit tests build response bodies with them).

Imports nothing, so the wire modules load without the server's dependencies.
"""
