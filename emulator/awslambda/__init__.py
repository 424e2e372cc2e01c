"""Lambda's Invoke API for a template's functions, on its own port (`AWS_ENDPOINT_URL_LAMBDA` in every
function's environment), so code that calls `lambda.invoke` runs unchanged locally.

- service.py: the functions by name or ARN, the HTTP server, synchronous invocation.
- wire.py: botocore's `lambda` rest-json wire format for Invoke (and the emulator's own fault endpoint).
- asynchronous.py: `InvocationType=Event`: the event queue, `AWS::Lambda::EventInvokeConfig` (retries, maximum
  event age, destinations with Lambda's invocation record) and the faults tests inject (duplicate, drop, delay).

The functions run in the same execution environments as the WebSocket routes' (emulator/runtime/).
"""

from emulator.awslambda.asynchronous import Fault
from emulator.awslambda.service import LambdaService

__all__ = ["Fault", "LambdaService"]
