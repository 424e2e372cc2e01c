"""`python -m emulator` (what `make local` runs): a template's WebSocket API and its functions on localhost.

Starts the Bedrock stand-in (or uses real Bedrock with `--bedrock aws` and your AWS credentials), serves
`ws://127.0.0.1:<port>/<stage>` and its @connections API, prints a wscat line, and runs until Ctrl-C; then it
prints what the functions served, from the EMF metrics in their log lines (emulator/services/cloudwatch.py).
"""

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from emulator import template
from emulator.apigateway.registry import Quotas
from emulator.awslambda import interpreters
from emulator.awslambda.asynchronous import RETRY_DELAYS
from emulator.awslambda.coldstart import MODES
from emulator.awslambda.runtime import stop_forkserver
from emulator.cloud import LocalCloud, function_environment
from emulator.services.cloudwatch import Metrics
from emulator.services.cognito import LocalCognito


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Quotas()
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--template", type=Path, default=Path("main.yml"), help="(default %(default)s)")
    parser.add_argument("--code-dir", type=Path, help="every function's code (default: each function's Code path)")
    parser.add_argument("--host", default="127.0.0.1", help="(default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="0 for a free port (default %(default)s)")
    parser.add_argument("--stage", help="the stage name (default: the template's)")
    parser.add_argument(
        "--parameter", action="append", type=_assignment, default=[], metavar="KEY=VALUE", help="template parameter"
    )
    parser.add_argument("--region", default=template.DEFAULT_REGION, help="(default %(default)s)")
    parser.add_argument("--bedrock", choices=["local", "aws"], default="local", help="stand-in or real Bedrock")
    parser.add_argument("--standin-rate", type=float, default=60.0, help="stand-in tokens/s (default %(default)s)")
    parser.add_argument("--standin-ttft-ms", type=float, default=300.0, help="stand-in first-token delay")
    parser.add_argument(
        "--function-env",
        action="append",
        type=_assignment,
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for every function, over the template's (repeatable)",
    )
    parser.add_argument(
        "--interpreter",
        action="append",
        default=[],
        metavar="RUNTIME=PATH",
        help="the Python that runs functions of this Runtime, e.g. python3.13=.venv-lambda/bin/python (repeatable; "
        "without one, a Runtime other than this Python's runs on this Python, with a warning)",
    )
    parser.add_argument("--standin-guardrail", metavar="ID:VERSION", help="the stand-in refuses calls without it")
    parser.add_argument("--post-latency-ms", type=float, default=0, help="delay of every @connections POST")
    parser.add_argument(
        "--cold-start",
        choices=MODES,
        default="fast",
        help="fast: forked environments (boto3 preloaded); real: each cold start costs the handler's import in a "
        "fresh interpreter, as on Lambda",
    )
    parser.add_argument("--max-message-bytes", type=int, default=defaults.max_message_bytes)
    parser.add_argument("--max-frame-bytes", type=int, default=defaults.max_frame_bytes, help="per client frame")
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout, help="seconds")
    parser.add_argument("--max-duration", type=float, default=defaults.max_duration, help="seconds")
    parser.add_argument("--web-dir", type=Path, help="serve this folder's index.html and files at / (make local: web)")
    parser.add_argument("--integration-timeout", type=float, default=defaults.integration_timeout, help="seconds")
    parser.add_argument("--lambda-port", type=int, default=0, help="Lambda's Invoke API (default: a free port)")
    parser.add_argument(
        "--lambda-retry-delays",
        type=lambda text: tuple(float(s) for s in text.split(",")),
        default=RETRY_DELAYS,
        metavar="S,S",
        help="seconds before an asynchronous event's 1st and 2nd retry (default: Lambda's 60,120)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    parameters = dict(args.parameter)
    interpreter_paths = interpreters.parse(args.interpreter)  # refused before anything starts
    cognito = LocalCognito(args.region)  # moto's cognito-idp, started only if the template has a user pool
    api = template.load(
        args.template, parameters, args.stage, args.code_dir, region=args.region, provision=cognito.provision
    )
    standin = None
    if args.bedrock == "local":
        from emulator.bedrock.server import BedrockStandIn  # only when asked for: --bedrock aws needs none of it

        standin = BedrockStandIn(rate=args.standin_rate, ttft_ms=args.standin_ttft_ms, guardrail=args.standin_guardrail)
        bedrock = await standin.start()
    cloud = LocalCloud(
        api,
        {**function_environment(bedrock if standin else None), **cognito.environment, **dict(args.function_env)},
        Quotas(
            args.max_message_bytes,
            args.idle_timeout,
            args.max_duration,
            args.integration_timeout,
            max_frame_bytes=args.max_frame_bytes,
        ),
        host=args.host,
        port=args.port,
        post_latency_ms=args.post_latency_ms,
        lambda_port=args.lambda_port,
        retry_delays=args.lambda_retry_delays,
        web_dir=args.web_dir,
        interpreters=interpreter_paths,
    )
    cloud.runtime.cold_start = args.cold_start
    metrics = Metrics()  # what the functions' EMF lines say, summed up on the way out
    logging.getLogger("emulator").addHandler(metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        url = await cloud.start()
        if cloud.stage.page:
            print(f"Chat page: {cloud.stage.page}", flush=True)
        for route in api.routes.values():
            print(f"  route {route.key:<12} -> {route.function.logical_id if route.function else '(not Lambda)'}")
        print(f"Bedrock: {f'stand-in at {bedrock}' if standin else f'real Bedrock in {api.region}'}")
        print(f"Lambda Invoke API for {len(api.functions)} functions at {cloud.functions.url}")
        if "dynamodb" in cloud.services.endpoints:
            tables = ", ".join(resource.name for resource in cloud.services.resources)
            endpoint = cloud.services.endpoints["dynamodb"]
            print(f"DynamoDB (dynalite, emptied at each start): {endpoint}  tables {tables}")
        if cognito.endpoint:
            print(f"Cognito (moto): {cognito.endpoint}  pool {', '.join(cognito.outputs.values())}")
        print(f"Serving {args.template} on {url}  (@connections at {cloud.stage.endpoint}/{api.stage}/@connections)")
        connect = api.routes.get("$connect")
        if connect and connect.authorizer:
            sources = ", ".join(connect.authorizer.identity_sources)
            print(f"$connect's authorizer {connect.authorizer.name} reads: {sources}")
        print(f"Try it:  npx wscat -c {url}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        await cloud.stop()
        if standin is not None:
            await standin.stop()
        stop_forkserver()
        logging.getLogger("emulator").removeHandler(metrics)
        print("\n".join(metrics.summary()), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        asyncio.run(serve(args))
    except (template.TemplateError, interpreters.InterpreterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
