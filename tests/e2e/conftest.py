"""The local cloud's fixtures (tests/local_cloud.py), for this folder's tests."""

from tests.local_cloud import chat, emulator, emulator_logs, forkserver, standin

__all__ = ["chat", "emulator", "emulator_logs", "forkserver", "standin"]
