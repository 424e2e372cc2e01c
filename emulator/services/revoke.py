"""RevokeToken for the local Cognito: moto's cognito-idp (5.2) answers every other call a sign-in needs, but not
this one, so a page's sign-out could not end its refresh token (issue 23, item 10).

`install()` adds the action to moto's cognito-idp responder, in this process, where the emulator's moto server runs
(emulator/aws_services.py): any client (the page, boto3, the AWS CLI) calls it at the same endpoint and with the
same wire format as Cognito's. It follows Cognito's documented behaviour: the refresh token and the access tokens
issued from it (the same `origin_jti`) stop working for Cognito's own APIs (InitiateAuth REFRESH_TOKEN_AUTH,
GetUser); the JWTs still verify by signature until they expire, as Cognito's do. Revoking with another client's id
is UnauthorizedException; a client with EnableTokenRevocation false is UnsupportedOperationException; an unknown
or already revoked token succeeds (RFC 7009 §2.2: nothing left to revoke). When moto implements the action itself,
moto's is used.
"""

import base64
import json
from collections.abc import Iterator

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult


def install() -> None:
    from moto.cognitoidp.responses import CognitoIdpResponse

    if not hasattr(CognitoIdpResponse, "revoke_token"):
        CognitoIdpResponse.revoke_token = _revoke_token


def _origin_jti(access_token: str) -> str | None:
    try:
        payload = access_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("origin_jti")
    except (IndexError, ValueError):
        return None


def _pools() -> Iterator:
    """Every user pool of every account and region: RevokeToken is unsigned, so, as for moto's own unsigned calls
    (its RegionAgnosticBackend), the request does not say which region's pool issued the token."""
    from moto.cognitoidp.models import cognitoidp_backends

    for regions in cognitoidp_backends.values():
        for region, backend in regions.items():
            if region != "global":
                yield from backend.user_pools.values()


def _revoke_token(self) -> ActionResult:
    token, client_id = self._get_param("Token"), self._get_param("ClientId")
    for pool in _pools():
        issued = pool.refresh_tokens.get(token)  # (client id, username, origin_jti); None once revoked
        if issued is None:
            continue
        issued_to, _username, origin_jti = issued
        if issued_to != client_id:
            raise JsonRESTError("UnauthorizedException", "The token was not issued to this client.")
        client = pool.clients.get(client_id)
        if client is not None and client.extended_config.get("EnableTokenRevocation") is False:
            raise JsonRESTError("UnsupportedOperationException", "Token revocation is not enabled for this client.")
        if client is not None and client.generate_secret and self._get_param("ClientSecret") != client.secret:
            raise JsonRESTError("UnauthorizedException", "The client secret does not match.")
        pool.refresh_tokens[token] = None  # what moto's own GlobalSignOut does: REFRESH_TOKEN_AUTH now refuses it
        for access_token in [t for t in pool.access_tokens if _origin_jti(t) == origin_jti]:
            del pool.access_tokens[access_token]
    return EmptyResult()
