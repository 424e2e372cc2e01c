"""The page's policy names exactly what its config.json names (emulator/page/policy.py): what the emulator sends
and what `make web-config` writes for a static host."""

import json
from pathlib import Path

import pytest

from emulator.page import policy as page_policy

WEB = Path(__file__).parents[2] / "web"
INDEX = (WEB / "index.html").read_text()
DEPLOYED = {"url": "wss://abc.execute-api.eu-west-3.amazonaws.com/dev", "region": "eu-west-3"}


def connect_src(policy: str) -> list[str]:
    return next(d for d in policy.split("; ") if d.startswith("connect-src")).split()[1:]


def test_the_page_as_committed_reaches_nothing_but_its_own_origin():
    assert connect_src(page_policy.meta_policy(INDEX)) == ["'self'"]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({**DEPLOYED, "outputs": {"Auth": "none"}}, [DEPLOYED["url"]]),
        ({**DEPLOYED, "outputs": {"Auth": "oidc"}}, [DEPLOYED["url"]]),  # a pasted token: no sign-in endpoint
        (
            {**DEPLOYED, "outputs": {"Auth": "cognito"}},
            [DEPLOYED["url"], "https://cognito-idp.eu-west-3.amazonaws.com/"],
        ),
        (
            {"url": "ws://127.0.0.1:8080/dev", "endpoints": {"AWS_ENDPOINT_URL_COGNITO_IDP": "http://127.0.0.1:5000"}},
            ["ws://127.0.0.1:8080/dev", "http://127.0.0.1:5000"],
        ),
        ({"url": "wss://x/dev; connect-src *"}, []),  # a source that would add a directive is left out
    ],
)
def test_connect_src_names_the_api_and_its_sign_in_only(config, expected):
    page = page_policy.page(INDEX, config)
    headers = page_policy.headers(INDEX, config)
    assert connect_src(page_policy.meta_policy(page)) == ["'self'", *expected]
    assert headers["Content-Security-Policy"] == f"{page_policy.meta_policy(page)}; frame-ancestors 'none'"
    assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"]) == ("nosniff", "no-referrer")


def test_web_config_writes_a_page_for_a_static_host(tmp_path):
    out = tmp_path / "web"
    page_policy.main(["--web-dir", str(WEB), "--out", str(out), "--url", DEPLOYED["url"], "--auth", "cognito"])
    config = json.loads((out / "config.json").read_text())
    assert config == {"url": DEPLOYED["url"], "region": "", "outputs": {"Auth": "cognito"}}
    assert connect_src(page_policy.meta_policy((out / "index.html").read_text())) == ["'self'", DEPLOYED["url"]]
    headers = (out / "_headers").read_text().splitlines()
    assert headers[0] == "/*" and "  X-Content-Type-Options: nosniff" in headers
    assert any("frame-ancestors 'none'" in line for line in headers)
    assert (out / "app.js").read_bytes() == (WEB / "app.js").read_bytes()


def test_web_config_refuses_anything_but_a_websocket_url(tmp_path):
    with pytest.raises(SystemExit):
        page_policy.main(["--out", str(tmp_path / "web"), "--url", "https://evil.example/"])
