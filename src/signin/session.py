"""After the door: a connection's sign-in ends with its token.

The authorizer's context reaches every route as requestContext.authorizer (principalId, exp). A route refuses a
message with `Unauthorized` once `exp` has passed: API Gateway never re-checks a token, and connections last
2 hours.
"""

from protocol import SIGNIN_EXPIRED


def owner_of(request_context: dict) -> str:
    """The signed-in principal (an authorizer's principalId), or "-" when sign-in is off."""
    return (request_context.get("authorizer") or {}).get("principalId") or "-"


def check(request_context: dict, now: float) -> None:
    """Raise SIGNIN_EXPIRED once the token that opened this connection has expired."""
    expires = (request_context.get("authorizer") or {}).get("exp")
    if expires is not None and now >= int(expires):
        raise SIGNIN_EXPIRED
