"""Offline emulator: any CloudFormation template's WebSocket API and Python functions on localhost, with a Bedrock
stand-in. Never shipped to Lambda. One folder per AWS service, as moto and LocalStack are organised:

- apigateway/: the WebSocket stage (routes, authorizer, integration, @connections, quotas, the static page).
- awslambda/: execution environments on the Runtime's Python, cold starts, the Invoke API (sync and async).
- bedrock/: the bedrock-runtime stand-in and its wire formats.
- services/: the local AWS services (DynamoDB in dynalite, Cognito in moto) and CloudWatch's EMF metrics.
- template/: the template, read and resolved as CloudFormation would (CloudFormation's part).
- cloud.py: LocalCloud, the one place that wires them; __main__.py: `python -m emulator`; outputs.py: a running
  emulator's stack outputs, for shell recipes.

It passes through what the template and its caller give it (--parameter, --function-env, --interpreter) and knows
nothing of any project's handlers, routes or variables.
"""
