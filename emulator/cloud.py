"""The composition root: one template's API Gateway stage, Lambda functions and local AWS services, wired together
and started in order. `python -m emulator` runs one; tests and benchmarks start one in-process.

The rooms never import each other upwards: apigateway/ uses awslambda/ (a route's integration invokes a function),
awslambda/ and services/ use only template/; only this module knows them all.
"""

import asyncio
from collections.abc import Mapping
from pathlib import Path

from emulator.apigateway.registry import Quotas
from emulator.apigateway.stage import Stage
from emulator.awslambda.asynchronous import RETRY_DELAYS
from emulator.awslambda.interpreters import Interpreters
from emulator.awslambda.runtime import DUMMY_CREDENTIALS, Runtime, caller_credentials
from emulator.awslambda.service import LambdaService
from emulator.services.local import LocalServices
from emulator.template import Api


def function_environment(bedrock_url: str | None) -> dict[str, str]:
    """How the functions reach Bedrock: the stand-in's endpoint with dummy credentials, or (None) real Bedrock with
    the caller's own AWS credentials."""
    if bedrock_url is None:
        return caller_credentials()
    return {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url, **DUMMY_CREDENTIALS}


class LocalCloud:
    """A template's WebSocket API, its functions (also through Lambda's Invoke API) and its local AWS services."""

    def __init__(
        self,
        api: Api,
        environment: Mapping[str, str] | None = None,
        quotas: Quotas | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        post_latency_ms: float = 0,
        record_frames: bool = False,
        lambda_port: int = 0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        web_dir: Path | None = None,
        interpreters: Mapping[str, str] | None = None,
    ) -> None:
        """`environment` is added to every function's environment variables (default: dummy credentials; see
        function_environment); `port` 0 picks a free one. Every function can also be invoked through Lambda's
        Invoke API (`self.functions`, on `lambda_port`), sharing the routes' environments; `retry_delays` shortens
        Lambda's retry delays for asynchronous events. `web_dir`: a folder with an index.html to serve at `/`.
        `interpreters`: {Runtime: the Python that runs it} (emulator/awslambda/interpreters.py)."""
        self.api = api
        # Lambda's reserved region variables: the functions run "in" the template's region.
        region = {"AWS_REGION": api.region, "AWS_DEFAULT_REGION": api.region}
        self.runtime = Runtime(
            {**region, **(DUMMY_CREDENTIALS if environment is None else environment)}, Interpreters(interpreters)
        )
        self.functions = LambdaService(
            api.functions.values(), self.runtime, api.region, api.account_id, host, lambda_port, retry_delays
        )
        self.services = LocalServices(api)  # the template's tables (DynamoDB), served locally
        self.stage = Stage(
            api, self.runtime, quotas, host, port, post_latency_ms, record_frames, web_dir, describe=self.describe
        )

    @property
    def url(self) -> str:
        """The stage's ws:// URL."""
        return self.stage.url

    async def start(self) -> str:
        """The local AWS services, then Lambda's Invoke API, then the stage; returns the ws:// URL."""
        for function in self.api.functions.values():  # a Runtime without its interpreter says so now, not later
            self.runtime.interpreters.for_runtime(function.runtime)
        self.runtime.environment.update(await asyncio.to_thread(self.services.start))
        self.stage.bind()
        # The template's environment names the deployed API (https://<api-id>.execute-api…): point it here.
        self.runtime.endpoints = {f"https://{self.api.domain_name}": self.stage.endpoint}
        self.runtime.environment["AWS_ENDPOINT_URL_LAMBDA"] = await self.functions.start()
        return await self.stage.start()

    def describe(self) -> dict:
        """What `describe-stacks` would say, for tools (emulator/outputs.py) and the page's config.json: the
        stack's outputs as resolved locally, the ws:// URL, and the local AWS endpoints the functions are given."""
        endpoints = {k: v for k, v in self.runtime.environment.items() if k.startswith("AWS_ENDPOINT_URL_")}
        return {"url": self.url, "region": self.api.region, "outputs": self.api.outputs, "endpoints": endpoints}

    async def stop(self) -> None:
        """Close every connection (1001), end in-flight invocations and every environment, free the ports, drop
        the tables."""
        await self.stage.stop()
        await self.functions.stop()
        await self.runtime.stop()
        await asyncio.to_thread(self.services.stop)
