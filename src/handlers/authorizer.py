"""$connect's Lambda REQUEST authorizer: the token offered as a subprotocol, checked, turned into an IAM policy.

API Gateway maps the outcomes: the policy below allows the connection; raising Exception("Unauthorized") answers
401 (the token is refused: sign in again); any other failure 500 (ours: retry). So an issuer whose keys cannot
be fetched is a 500, never a 401. The token itself is never logged, only the refusal's fixed reason.
"""

import os

from signin import handshake, jwks, tokens
from telemetry import metrics
from telemetry.logs import bind, log

POLICY, KEYS = tokens.from_environment(os.environ)  # keys cached per execution environment


def handler(event: dict, context: object) -> dict:
    bind(context, connectionId=event.get("requestContext", {}).get("connectionId"))
    token = handshake.token(event.get("headers"))
    try:
        if token is None:
            raise tokens.InvalidToken("no token offered beside " + handshake.SUBPROTOCOL)
        identity = tokens.verify(token, POLICY, KEYS)
    except tokens.InvalidToken as refused:
        log("unauthorized", reason=str(refused))
        metrics.connect(allowed=False)
        raise Exception("Unauthorized") from None  # the exact message API Gateway turns into 401
    except jwks.KeysUnavailable as outage:
        log("keys unavailable", level="ERROR", cause=repr(outage.__cause__ or outage))
        metrics.connect(allowed=False)
        raise Exception("Signing keys unavailable; retry shortly") from None  # any other message: 500
    log("authorized", principalId=identity.sub)
    metrics.connect(allowed=True)
    return {
        "principalId": identity.sub,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}],
        },
        # Flat strings: API Gateway stringifies the context and hands it to every route as requestContext.authorizer.
        "context": {"sub": identity.sub, "username": identity.username, "exp": str(identity.expires)},
    }
