"""main.yml's sign-in switch: off by default, and when on, an authorizer wired as API Gateway requires it.

moto's CloudFormation skips AWS::ApiGatewayV2::* and AWS::Cognito::* (the deploy rehearsal cannot create them),
so what those resources say is checked here, with cfn-lint (tests/templates/test_templates.py) for the schema.
"""

import pytest

from tests.templates.test_templates import IAM, MAIN, RESOURCES, of_type

AUTH_RESOURCES = {
    "UserPool": "CognitoAuth",
    "UserPoolClient": "CognitoAuth",
    "AuthorizerFunction": "AuthOn",
    "AuthorizerLogGroup": "AuthOn",
    "Authorizer": "AuthOn",
    "AuthorizerPermission": "AuthOn",
}


def test_the_switch_defaults_to_off_and_offers_cognito_and_oidc():
    auth = MAIN["Parameters"]["Auth"]
    assert (auth["Default"], auth["AllowedValues"]) == ("none", ["none", "cognito", "oidc"])
    assert MAIN["Conditions"]["AuthOn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Auth"}, "none"]}]}
    assert MAIN["Conditions"]["CognitoAuth"] == {"Fn::Equals": [{"Ref": "Auth"}, "cognito"]}


@pytest.mark.parametrize(("name", "condition"), AUTH_RESOURCES.items())
def test_sign_in_resources_exist_only_when_it_is_on(name, condition):
    assert RESOURCES[name]["Condition"] == condition


def test_only_the_sign_in_resources_are_conditional():
    conditional = {name for name, r in RESOURCES.items() if "Condition" in r}
    # The alarm topic exists only with AlarmEmail (#13), the Bedrock TPM alarm only with BedrockTpmAlarmAt (#28).
    assert conditional - {"AlarmTopic", "BedrockTpmAlarm"} == set(AUTH_RESOURCES)


def test_connect_route_uses_the_authorizer_only_when_on():
    props = RESOURCES["ConnectRoute"]["Properties"]
    assert props["AuthorizationType"] == {"Fn::If": ["AuthOn", "CUSTOM", "NONE"]}
    assert props["AuthorizerId"] == {"Fn::If": ["AuthOn", {"Ref": "Authorizer"}, {"Ref": "AWS::NoValue"}]}
    others = [r for n, r in of_type(MAIN, "AWS::ApiGatewayV2::Route").items() if n != "ConnectRoute"]
    assert all(r["Properties"]["AuthorizationType"] == "NONE" for r in others)  # WebSocket: $connect only


def test_the_authorizer_is_a_request_authorizer_on_the_subprotocol_header():
    props = RESOURCES["Authorizer"]["Properties"]
    assert props["AuthorizerType"] == "REQUEST"
    assert props["IdentitySource"] == ["route.request.header.Sec-WebSocket-Protocol"]
    assert "${AuthorizerFunction.Arn}/invocations" in props["AuthorizerUri"]["Fn::Sub"]
    assert "AuthorizerResultTtlInSeconds" not in props  # not supported on WebSocket APIs


def test_the_authorizer_permission_names_this_api_s_authorizer():
    props = RESOURCES["AuthorizerPermission"]["Properties"]
    assert props["FunctionName"] == {"Ref": "AuthorizerFunction"}
    assert props["Principal"] == "apigateway.amazonaws.com"
    assert props["SourceArn"]["Fn::Sub"] == (
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/${Authorizer}"
    )


def test_the_authorizer_role_may_only_write_its_own_logs():
    role = IAM["Resources"]["AuthorizerRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"]["Fn::Sub"].endswith(":log-group:/aws/lambda/${AppStackName}-Authorizer:*")
    function = RESOURCES["AuthorizerFunction"]["Properties"]
    assert function["Role"] == {"Fn::ImportValue": {"Fn::Sub": "${IamStackName}-AuthorizerRoleArn"}}


def test_the_authorizer_checks_the_pool_s_issuer_and_client_or_the_oidc_ones():
    variables = RESOURCES["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["AUTH_MODE"] == {"Ref": "Auth"}
    assert variables["TOKEN_ISSUER"] == {
        "Fn::If": [
            "CognitoAuth",
            {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
            {"Ref": "OidcIssuer"},
        ]
    }
    assert variables["TOKEN_AUDIENCE"] == {
        "Fn::If": ["CognitoAuth", {"Ref": "UserPoolClient"}, {"Ref": "OidcAudience"}]
    }


def test_the_app_client_is_public_with_password_srp_and_refresh_flows():
    props = RESOURCES["UserPoolClient"]["Properties"]
    assert props["GenerateSecret"] is False  # browsers and CLIs cannot keep a secret
    assert sorted(props["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert RESOURCES["UserPool"]["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}


def test_oidc_mode_requires_an_issuer_and_an_audience():
    rule = MAIN["Rules"]["OidcNeedsIssuerAndAudience"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Auth"}, "oidc"]}
