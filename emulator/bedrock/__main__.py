"""`python -m emulator.bedrock --port 4010`: the stand-in on its own, for any boto3 code.

Prints the one line to put in the environment of the code under test, then serves until interrupted.
"""

import argparse
import asyncio
import logging
import signal

from .server import BedrockStandIn


async def serve(args: argparse.Namespace) -> None:
    standin = BedrockStandIn(args.rate, args.ttft_ms, args.host, args.port, args.guardrail)
    url = await standin.start()
    print(f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator.bedrock", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010, help="0 for a free port (default %(default)s)")
    parser.add_argument("--rate", type=float, default=60.0, help="tokens per second, 0 = unpaced (%(default)s)")
    parser.add_argument("--ttft-ms", type=float, default=300.0, help="time to first token, ms (%(default)s)")
    parser.add_argument("--guardrail", metavar="ID:VERSION", help="refuse every call that does not carry it")
    parser.add_argument("--quiet", action="store_true", help="no log line per request")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
