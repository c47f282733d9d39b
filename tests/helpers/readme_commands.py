"""The shell commands of README.md's ```bash blocks, split into argument lists (what a user would type)."""

from __future__ import annotations

import re
import shlex

from tests.helpers.paths import REPO_ROOT


def readme_commands() -> list[list[str]]:
    """Every command of every ```bash block; ``a && b`` gives two, ``# comments`` are dropped, a trailing
    backslash continues the line, ``NAME=value`` before a command is dropped."""
    text = (REPO_ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():  # join continued lines
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # NAME=value before a command: environment
                words = words[1:]
            while words:
                end = words.index("&&") if "&&" in words else len(words)
                commands.append(words[:end])
                words = words[end + 1:]
    return commands


def readme_command(*start: str) -> list[str]:
    """The one README command that begins with ``start`` (fails the test if there is not exactly one)."""
    matches = [command for command in readme_commands() if command[:len(start)] == list(start)]
    assert len(matches) == 1, f"README.md has {len(matches)} commands starting with {' '.join(start)}"
    return matches[0]
