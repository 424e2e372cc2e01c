"""Lambda: a template's functions in execution environments, and Lambda's Invoke API for them.

- runtime.py: Runtime: each function's pool of warm environments, invoke(), START/END/REPORT lines.
- environment.py: the emulator's handle on one environment process (forked or spawned; start, invoke, stop, kill).
- bootstrap.py: what runs inside that process: INIT, then the invocation loop with Lambda's context object.
- interpreters.py: which Python runs a function: the one its Runtime names, or (loudly) the emulator's own.
- coldstart.py, prewarm.py: what a cold start costs (`--cold-start real`); boto3's data loaded once in the forkserver.
- service.py, wire.py: the Invoke API on its own port (`AWS_ENDPOINT_URL_LAMBDA` in every function's environment),
  in botocore's `lambda` rest-json wire format, so code that calls `lambda.invoke` runs unchanged.
- asynchronous.py: `InvocationType=Event`: the event queue, `AWS::Lambda::EventInvokeConfig` (retries, maximum
  event age, destinations) and the faults tests inject (duplicate, drop, delay).

Imports nothing: the forkserver preloads bootstrap.py, which must not pull the rest of the emulator in with it.
"""
