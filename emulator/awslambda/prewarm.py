"""Imported once in the forkserver (runtime.py's PRELOAD): boto3's default session with the botocore data every client
of the emulator's local services reads, loaded once and shared by every environment forked from it.

Creating a boto3 client mostly parses botocore's JSON (the service model, its endpoint rules, the partitions):
about 100 ms of CPU per client on a busy 2-core machine. Every environment used to parse its own; with two
environments per message (a route's function and the function it invokes asynchronously), 50 concurrent messages
spent most of a minute on it. Only the loader's cache is filled here, for the services the emulator serves
locally: no client is made and no credentials, region or config file are read, so each environment still resolves
those from its own environment variables, as a Lambda function does. What `--cold-start real` charges is measured
apart, in a fresh interpreter (coldstart.py), so it does not change.
"""

import boto3

# The endpoints the emulator gives functions: @connections, Bedrock's stand-in, Lambda's Invoke API, and the
# services its moto server provides.
SERVICES = ("apigatewaymanagementapi", "bedrock-runtime", "lambda", "dynamodb", "cognito-idp")


def _prewarm() -> None:
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()  # what boto3.client() in an environment uses
    loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")  # memoizes what it parses
    for name in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
        loader.load_data(name)
    for service in SERVICES:
        loader.load_service_model(service, "service-2")
        loader.load_service_model(service, "endpoint-rule-set-1")


_prewarm()
