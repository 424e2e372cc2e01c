"""Which Python runs a function: the interpreter its `Runtime` names (python3.13 on Lambda), when the emulator was
given one (`--interpreter python3.13=PATH`, e.g. a venv with the boto3 that Lambda's runtime ships).

A Runtime that is the emulator's own Python needs none: its environments fork from the forkserver. Any other
Runtime without an interpreter falls back to the emulator's own Python, with a WARNING once per Runtime: the code
then runs on a Python Lambda would not give it (different syntax, standard library and boto3).
"""

import logging
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger("emulator.awslambda")


class InterpreterError(ValueError):
    """An --interpreter that is malformed or names no file."""


OWN = f"python{sys.version_info.major}.{sys.version_info.minor}"


def parse(items: Iterable[str]) -> dict[str, str]:
    """`RUNTIME=PATH` items (the command line's) -> {runtime: path}, each path an existing file."""
    found = {}
    for item in items:
        runtime, sep, path = item.partition("=")
        if not sep or not runtime or not path:
            raise InterpreterError(f"--interpreter {item!r}: expected RUNTIME=PATH, e.g. python3.13=/opt/py/python3")
        if not Path(path).is_file():
            raise InterpreterError(f"--interpreter {item}: no such interpreter")
        found[runtime] = path
    return found


class Interpreters:
    """Runtime name -> the interpreter that runs it; None for the emulator's own (forked environments)."""

    def __init__(self, paths: Mapping[str, str] | None = None) -> None:
        self.paths = dict(paths or {})
        self._warned: set[str] = set()

    def for_runtime(self, runtime: str) -> str | None:
        if runtime in self.paths:
            return self.paths[runtime]
        if runtime != OWN and runtime not in self._warned:
            self._warned.add(runtime)
            log.warning(
                "WARNING: no interpreter for Runtime %s (--interpreter %s=PATH): its functions run on the "
                "emulator's own Python %s instead, which Lambda would not give them",
                runtime,
                runtime,
                sys.version.split()[0],
            )
        return None
