"""Offline emulator: main.yml + src/ on localhost, with a Bedrock stand-in. Never shipped to Lambda."""
