"""`python -m bench.authorizer` (`make bench SECTION=authorizer`): the sign-in authorizer's latency, in process.

  warm        src/authorizer.handler on a REQUEST event, the issuer's keys cached (every connect after the
              first in an execution environment); target: RSA-2048 median <= 5 ms
  verify      rs256.verify alone (the modular exponentiation and the block comparison)
  cold keys   a fresh key cache per call: the JWKS fetched over loopback HTTP, then the check (an environment's
              first connect; a real issuer adds its own round trip, a few tens of ms from Lambda)
  cold start  a new Python process: import authorizer (and boto3-free src/ modules), fetch, check
RSA-2048 and RSA-4096 keys. Writes bench/authorizer.json. About 20 s.
"""

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # src/ is the Lambda zip's root

from signin import jwks, rs256, tokens  # noqa: E402
from tests.tokens_for_tests import CLIENT_ID, ISSUER, Signer, access_claims  # noqa: E402

RESULTS = Path(__file__).with_name("authorizer.json")
COLD_START = """
import json, os, sys, time
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from handlers import authorizer
event = json.loads(sys.argv[2])
authorizer.handler(event, None)
print((time.perf_counter() - started) * 1000)
"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "n": len(ordered),
    }


def timed(call, repetitions: int) -> list[float]:
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class Issuer(BaseHTTPRequestHandler):
    document = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.document)))
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args) -> None:
        pass


def event_for(token: str) -> dict:
    return {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:ap-northeast-1:123456789012:abcdef1234/dev/$connect",
        "headers": {"Sec-WebSocket-Protocol": f"bedrock-ws-chat, {token}"},
        "requestContext": {"connectionId": "bench"},
    }


def measure(bits: int, url: str) -> dict:
    from handlers import authorizer

    signer = Signer(kid=f"bench-{bits}", bits=bits, name=f"bench-{bits}")
    Issuer.document = json.dumps({"keys": [signer.jwk()]}).encode()
    token = signer.token(**access_claims())
    event = event_for(token)
    authorizer.KEYS = jwks.KeySet(url=url)
    authorizer.handler(event, None)  # fills the cache
    key = authorizer.KEYS.get(signer.kid)
    head, payload, signature = token.split(".")
    signed, raw = f"{head}.{payload}".encode(), tokens._decode(signature)

    def cold_keys() -> None:
        authorizer.KEYS = jwks.KeySet(url=url)
        authorizer.handler(event, None)

    environment = {**os.environ, "AUTH_MODE": "cognito", "TOKEN_ISSUER": ISSUER, "TOKEN_AUDIENCE": CLIENT_ID}
    environment["JWKS_URL"] = url
    cold_start = []
    for _ in range(5):
        run = subprocess.run(
            [sys.executable, "-c", COLD_START, str(ROOT / "src"), json.dumps(event)],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        cold_start.append(float(run.stdout.strip().splitlines()[-1]))
    return {
        "warm_ms": percentiles(timed(lambda: authorizer.handler(event, None), 500)),
        "verify_ms": percentiles(timed(lambda: rs256.verify(key.n, key.e, signed, raw), 500)),
        "cold_keys_ms": percentiles(timed(cold_keys, 50)),
        "cold_start_ms": percentiles(cold_start),
    }


def main() -> int:
    os.environ.update(AUTH_MODE="cognito", TOKEN_ISSUER=ISSUER, TOKEN_AUDIENCE=CLIENT_ID)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        # the handler's log lines (stdout) and its EMF metric lines (stderr)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            results = {f"rsa{bits}": measure(bits, url) for bits in (2048, 4096)}
    finally:
        server.shutdown()
    warm = results["rsa2048"]["warm_ms"]["median"]
    results["target_warm_rsa2048_ms"] = 5.0
    results["target_met"] = warm <= 5.0
    results["python"] = sys.version.split()[0]
    for name in ("rsa2048", "rsa4096"):
        cells = results[name]
        print(
            f"{name}: warm {cells['warm_ms']['median']:.2f} ms (p99 {cells['warm_ms']['p99']:.2f}), "
            f"verify {cells['verify_ms']['median']:.3f} ms, cold keys {cells['cold_keys_ms']['median']:.2f} ms, "
            f"cold start {cells['cold_start_ms']['median']:.0f} ms"
        )
    print(f"Target warm RSA-2048 <= 5 ms: {'met' if results['target_met'] else 'MISSED'} ({warm:.2f} ms)")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {RESULTS}")
    return 0 if results["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
