"""The documentation lists what the code does: every downloaded file, every set-up option, every package."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from latentsync.cli.download_checkpoints import AUXILIARY, RELEASES
from latentsync.face.enhancement import enhancer_specs
from tests.helpers.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_checkpoints_readme_lists_every_downloaded_file():
    listed = []
    for line in (REPO_ROOT / "checkpoints" / "README.md").read_text().splitlines():
        if line.startswith("| `"):
            listed += re.findall(r"`([^`]+)`", line.split("|")[1])
    downloaded = [str(Path(folder) / name) for _, names, folder in RELEASES.values() for name in names]
    downloaded += AUXILIARY[1] + [f"enhancers/{spec.path(Path('.')).name}" for spec in enhancer_specs().values()]
    unlisted = [path for path in downloaded if not any(fnmatch.fnmatch(Path(path).as_posix(), pattern)
                                                      for pattern in listed)]
    assert unlisted == []


def test_quick_start_names_every_setup_option():
    options = set(re.findall(r"(--[\w.-]+)[|)]", (REPO_ROOT / "setup_env.sh").read_text())) - {"--help"}
    assert "--with-enhancers" in options
    quick_start = _section("Quick start")
    assert sorted(option for option in options if f"`{option}`" not in quick_start) == []


def test_quick_start_names_every_demo_clip_the_set_up_fetches():
    from latentsync.cli.download_checkpoints import DEMO_ASSETS

    quick_start = " ".join(_section("Quick start").split())
    named = {name for name in DEMO_ASSETS if name in quick_start or f"`{name.split('_')[0]}_*`" in quick_start}
    assert named == set(DEMO_ASSETS) and len(DEMO_ASSETS) == 6 and "three demo pairs" in quick_start


def test_library_table_is_one_table_naming_every_requirement():
    section = _section("Libraries and why")
    lines = section.strip().splitlines()
    rows = [index for index, line in enumerate(lines) if line.startswith("|")]
    assert rows == list(range(rows[0], rows[-1] + 1)), "table rows after the text: the table is cut in two"
    table = "\n".join(lines[rows[0]: rows[-1] + 1]).lower()
    requirements = [re.split(r"[<>=\s#]", line, maxsplit=1)[0].lower()
                    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    section = section.lower()
    assert [name for name in requirements if name.replace("opencv-contrib-python", "opencv")
            .replace("opencv-python", "opencv") not in section.replace("(pyav)", "")] == []
    assert "| onnxruntime |" in table


def test_cpu_wheel_advice_holds():
    """The README's CPU-only route: torch from the CPU index, then setup_env.sh, which must keep that torch."""
    from packaging.requirements import Requirement

    quick_start = " ".join(_section("Quick start").split())
    assert ".venv/bin/pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu" in quick_start
    requirements = {Requirement(line.split("#")[0]).name: Requirement(line.split("#")[0])
                    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")}
    assert requirements["torch"].specifier.contains("2.14.1+cpu")
    assert requirements["torchvision"].specifier.contains("0.29.1+cpu")
    install = next(line for line in (REPO_ROOT / "setup_env.sh").read_text().splitlines() if "-r requirements.txt" in line)
    assert not {"--upgrade", "-U", "--force-reinstall"} & set(install.split())
