"""Guardrails at the stand-in: which guardrail a request carries, and the refusal when it is not the one required.

A stand-in started with a guardrail (`--guardrail ID:VERSION`) refuses every model call that does not carry it, as
IAM does for a role whose model permissions have a `bedrock:GuardrailIdentifier` condition: AccessDeniedException.
"""

from aiohttp import web

from .errors import BedrockError
from .invocation import Invocation


def carried(request: web.Request, body: dict | None) -> str | None:
    """The request's guardrail as "id:version": InvokeModel's headers, or Converse's guardrailConfig (`body`)."""
    if body is not None:
        config = body.get("guardrailConfig") or {}
        identifier, version = config.get("guardrailIdentifier"), config.get("guardrailVersion")
    else:
        identifier = request.headers.get("X-Amzn-Bedrock-GuardrailIdentifier")
        version = request.headers.get("X-Amzn-Bedrock-GuardrailVersion")
    return f"{identifier}:{version or 'DRAFT'}" if identifier else None


def check(required: str | None, guardrail: str | None, invocation: Invocation, operation: str) -> None:
    """BedrockError unless the request's guardrail is consistent and, when one is required, the required one."""
    if invocation.guardrail and guardrail is None:
        raise BedrockError.validation(
            "amazon-bedrock-guardrailConfig is set but no guardrail identifier was provided. "
            "Provide a guardrailIdentifier and guardrailVersion and try again."
        )
    if required is not None and guardrail != required:
        action = "InvokeModel" if operation == "InvokeModel" else "InvokeModelWithResponseStream"  # Converse's too
        raise BedrockError(
            403,
            "AccessDeniedException",
            f"User is not authorized to perform: bedrock:{action} "
            f"on resource: {invocation.model_id} because no identity-based policy allows it "
            "(the policy requires bedrock:GuardrailIdentifier)",
        )
