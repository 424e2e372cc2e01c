"""src/connections.py's @connections client against a real HTTP server: botocore's own retries stay off, because a
post retried after an error may already have reached the client, and a delta must never arrive twice."""

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.local_cloud import ROOT

pytestmark = pytest.mark.e2e


class Failing(BaseHTTPRequestHandler):
    """Answers every POST with a retryable status, and counts them."""

    status = 500
    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).posts.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"message": "Internal server error"}')

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_post_that_may_have_arrived_is_sent_once(status):
    Failing.status, Failing.posts = status, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = subprocess.run(
            [sys.executable, "-c", "import connections; connections.post('conn-1', '\"Hello\"')"],
            cwd=ROOT / "src",
            env={
                "API_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
                "STAGE": "dev",
                "AWS_DEFAULT_REGION": "ap-northeast-1",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_CONFIG_FILE": "/dev/null",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode != 0 and "Error" in run.stderr.splitlines()[-1]  # the failure reaches the caller
    assert Failing.posts == ["/dev/@connections/conn-1"]  # once: botocore retried nothing
