"""`python -m emulator.outputs --port N`: what a running emulator says about its stack, as shell assignments.

For Makefile recipes that work on a deployed stack or on `make local` alike: `url`, `region`, one
`Output_<Key>` per stack output and one `AWS_ENDPOINT_URL_<SERVICE>` per local AWS service. Exits 1 when no
emulator answers on the port.
"""

import argparse
import json
import shlex
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.outputs", description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        with urllib.request.urlopen(f"http://{args.host}:{args.port}/_emulator/outputs", timeout=2) as response:
            document = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return 1
    assignments = {"url": document["url"], "region": document["region"]}
    assignments.update({f"Output_{key}": value for key, value in document["outputs"].items()})
    assignments.update(document["endpoints"])
    for name, value in assignments.items():
        print(f"{name}={shlex.quote(str(value))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
