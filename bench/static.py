"""What does not need the emulator running: the Lambda zip and the SendText module's cold import."""

import io
import os
import re
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def lambda_zip() -> tuple[int, list[str]]:
    """Size of src/ zipped as `aws cloudformation package` zips it (deflated, caches excluded), and its files."""
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SRC.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(SRC))
                names.append(str(path.relative_to(SRC)))
    return len(buffer.getvalue()), names


_IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)")


def cold_import_ms(module: str = "handlers.sendtext", runs: int = 5) -> float:
    """Median cumulative `-X importtime` of the handler module in a fresh interpreter: boto3, botocore and the
    module-scope client creation included, as in a Lambda cold start."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SRC),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "API_ENDPOINT": "https://abcdef1234.execute-api.ap-northeast-1.amazonaws.com",
        "STAGE": "dev",
        "MODEL_ID": "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "TABLE_NAME": "bench-conversations",
        "REPLY_FUNCTION": "bench-StreamReply",
    }
    samples = []
    for _ in range(runs):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        cumulative = [int(us) for us, name in _IMPORT_LINE.findall(run.stderr) if name == module]
        samples.append(cumulative[-1] / 1000)
    return statistics.median(samples)
