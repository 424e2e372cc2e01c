"""The team's shared reference data (../shared next to the repository), found from a clone or a git worktree."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """`<repo>/../shared` as CI lays it out; from a git worktree, the one beside the main checkout; SHARED_DIR
    when set (`make mutate` runs the tests from a copy of the project in mutants/)."""
    candidates = [Path(os.environ["SHARED_DIR"])] if os.environ.get("SHARED_DIR") else []
    candidates.append(REPO.parent / "shared")
    dot_git = REPO / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main checkout>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text().split(":", 1)[1].strip())
        candidates.append(gitdir.parents[2].parent / "shared")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no shared/ beside the repository (looked at {', '.join(map(str, candidates))})")
