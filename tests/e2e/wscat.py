"""wscat, the client the README tells people to use, driven as a person would from a terminal."""

import os
import pty
import re
import select
import signal
import subprocess
import time

from tests.local_cloud import ROOT

WSCAT = ROOT / "node_modules" / ".bin" / "wscat"


def wscat_transcript(url: str, message: str, timeout: float = 20.0, options: tuple[str, ...] = ()) -> list[str]:
    """Drive wscat through a pty (wscat 6 prints received frames only to a terminal): connect, send one
    line, and return the received frames (`< …` lines) up to the first control frame. `options`: more wscat
    arguments, e.g. ("-s", "bedrock-ws-chat", "-s", token)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(WSCAT), "-c", url, *options], stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output, frames, sent = "", [], False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                output += os.read(controller, 65536).decode(errors="replace")
            text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", output).replace("\r", "\n")
            if not sent and "Connected" in text:
                os.write(controller, message.encode() + b"\n")
                sent = True
            frames = [line[2:] for line in text.split("\n") if line.startswith("< ")]
            if frames and frames[-1].startswith("{"):
                return frames
        raise TimeoutError(f"wscat printed: {output!r}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=5)
        os.close(controller)
