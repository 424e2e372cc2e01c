"""API Gateway: a template's WebSocket API stage on localhost, as API Gateway runs one.

- stage.py: Stage: the WebSocket endpoint (handshake, messages, $disconnect, idle and duration limits), one port
  with the @connections API and the static page; a browser's socket only from the emulator's own page.
- registry.py: the quotas, the open connections, route selection, API Gateway's own error frame, close codes.
- authorizer.py: the $connect REQUEST authorizer step (identity sources, policy, context).
- integration.py: the Lambda proxy integration step, within the integration timeout.
- events.py: the Lambda proxy events, one builder per eventType (CONNECT, MESSAGE, DISCONNECT).
- management.py: the @connections API (POST, GET, DELETE /<stage>/@connections/{id}).
- frames.py: the 32 KB frame quota, read from each frame's header.
- static.py: a folder's files at `/`, with /config.json describing the stack.
"""
