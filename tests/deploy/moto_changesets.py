"""Five fixes to moto's CloudFormation change sets, applied only around the deploy rehearsal's moto server.

`aws cloudformation deploy` (what `make deploy` runs) works through CreateChangeSet + ExecuteChangeSet, where moto
5.2.5 differs from AWS in five ways that stop the project's stacks from deploying at all:

(a) A CREATE change set's new stack is built without the account's exports (`create_stack` passes them, the change
    set path does not), so main.yml's `Fn::ImportValue` fails at execution: "No export named ... found".
(b) Executing a change set never re-reads the template's Outputs, so the stack has no Outputs and publishes no
    Exports (only `create_stack` registers them): the IAM stack exports nothing for main.yml to import.
(c) For a stack with parameters, an unchanged template and parameters are refused at CreateChangeSet with
    "ValidationError: No updates are to be performed.". AWS creates the change set and reports it FAILED with
    "The submitted information didn't contain changes.", which `--no-fail-on-empty-changeset` turns into success.
    moto also keeps a Number parameter as a number and compares it with the request's text ("1024" != 1024), so
    passing a Number parameter explicitly (main.yml's MaxTokens …) always looks like a change; AWS compares text.
    (The rehearsal's second `make deploy`, which must report no changes, is what shows this part.)
(d) main.yml is over the 51,200-byte inline limit, so `make deploy` uploads it and passes a TemplateURL. Pointed at
    a local endpoint the CLI writes it path-style (`http://127.0.0.1:<port>/<bucket>/<key>`), and moto reads a
    host that is neither `localhost` nor `s3….amazonaws.com` as a virtual-hosted bucket ("127"): NoSuchBucket.
(e) A change set lists as "Modify" a resource whose Condition is false (it was never created, e.g. the alarm topic
    with no AlarmEmail) when a parameter it names looks changed, then fails updating nothing ("'NoneType' object
    has no attribute 'delete'"). AWS has nothing to modify there.

Each fix wraps moto's own method and keeps its logic (no copy of it). tests/deploy/test_moto_gaps.py fails as soon
as an upstream release behaves differently, so each fix can be dropped (or redone) then.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse

# AWS's StatusReason for an empty change set; the AWS CLI matches on its first sentence.
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
UNCHANGED_ERROR = "No updates are to be performed."

_moto_execute_change_set = CloudFormationBackend.execute_change_set
_moto_create_change_set = CloudFormationResponse.create_change_set
_moto_validate_different_update = CloudFormationResponse._validate_different_update
_moto_get_stack_from_s3_url = CloudFormationResponse._get_stack_from_s3_url
_moto_build_resource_diff = ResourceMap.build_resource_diff


def _execute_change_set(backend: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    stack = backend.stacks[backend.describe_change_set(change_set_name).stack_id]
    # (a) Resolve Fn::ImportValue against the account's current exports, as AWS does at execution.
    stack.cross_stack_resources = stack.resource_map.cross_stack_resources = backend.exports
    previous_exports = [export.name for export in stack.exports]

    _moto_execute_change_set(backend, change_set_name, stack_name)

    # (b) Publish the executed template's Outputs and Exports, replacing whatever this stack exported before.
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    for name in previous_exports:
        backend.exports.pop(name, None)
    backend._validate_export_uniqueness(stack)
    backend.exports.update((export.name, export) for export in stack.exports)


def _create_change_set(response: CloudFormationResponse) -> object:
    # (c) Keep moto's own "is anything different?" check, but turn its verdict into AWS's FAILED change set.
    unchanged = False

    def note_unchanged(incoming: object, body: object, old_stack: object) -> None:
        nonlocal unchanged
        template_url = response._get_param("TemplateURL")
        if body is None and template_url:  # moto checks before it reads a TemplateURL: compare what it names
            body = response._get_stack_from_s3_url(template_url)
        try:
            _moto_validate_different_update(response, incoming, body, old_stack)
        except ValidationError as error:
            if error.message != UNCHANGED_ERROR:
                raise
            unchanged = True
            return
        if incoming and body == old_stack.template:  # compare the parameters as text, as AWS does
            old = old_stack.stack_parameters
            new = response._get_param_values(incoming, old)
            unchanged = {k: str(v) for k, v in new.items()} == {k: str(v) for k, v in old.items()}

    # moto serves every request with a new response object, so this shadows the check for this request only.
    response._validate_different_update = note_unchanged
    result = _moto_create_change_set(response)
    if unchanged:
        change_set = response.cloudformation_backend.change_sets[result.result["Id"]]
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    return result


def _get_stack_from_s3_url(response: CloudFormationResponse, template_url: str) -> str:
    # (d) A loopback endpoint is path-style, as moto already assumes for `localhost`.
    parts = urlsplit(template_url)
    if parts.hostname in ("127.0.0.1", "::1"):
        template_url = urlunsplit(parts._replace(netloc="localhost"))
    return _moto_get_stack_from_s3_url(response, template_url)


def _build_resource_diff(resource_map: ResourceMap, *args: object, **kwargs: object) -> dict:
    # (e) Only a resource that exists can be modified.
    actions = _moto_build_resource_diff(resource_map, *args, **kwargs)
    actions["Modify"] = [name for name in actions["Modify"] if resource_map._parsed_resources.get(name) is not None]
    return actions


@contextmanager
def patched() -> Iterator[None]:
    """moto's change sets behave as AWS's for the five points above, until the block exits."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(CloudFormationBackend, "execute_change_set", _execute_change_set))
        stack.enter_context(mock.patch.object(CloudFormationResponse, "create_change_set", _create_change_set))
        stack.enter_context(mock.patch.object(CloudFormationResponse, "_get_stack_from_s3_url", _get_stack_from_s3_url))
        stack.enter_context(mock.patch.object(ResourceMap, "build_resource_diff", _build_resource_diff))
        yield
