"""The editors' handbook builds strictly, lists every schema field, makes no third-party request; deploy files parse."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.build import build
from generator.config import SiteConfig
from generator.errors import BuildError
from generator.handbook import build_handbook, handbook_stage
from generator.loader import CONTENT_DIRS
from generator.reference import field_rows

from .conftest import BUILD_NOW, PROJECT, copy_sample


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_handbook(PROJECT, tmp_path_factory.mktemp("handbook") / "site")


def test_handbook_builds_strictly_with_every_page(handbook: Path) -> None:
    for page in ("index.html", "editors/review/index.html", "editors/review-local/index.html", "editors/personal-data/index.html", "team/deploy/index.html", "reference/index.html"):
        assert (handbook / page).is_file(), page
    assert (handbook / "search" / "search_index.json").is_file(), "Material's search is built in"
    review = (handbook / "editors/review/index.html").read_text()
    assert 'src="../../images/share.png"' in review
    local = (handbook / "editors/review-local/index.html").read_text()
    assert "consult review edit TH-7QK2M" in local and 'href="../review/"' in local, "the local review steps have their own page"
    assert 'class="admonition' in (handbook / "editors/personal-data/index.html").read_text()
    assert 'data-md-color-media="(prefers-color-scheme: dark)"' in (handbook / "index.html").read_text()


def test_generated_reference_lists_every_schema_field(handbook: Path) -> None:
    text = (handbook / "reference/index.html").read_text()
    keys = [re.match(r"\| `([^`]+)`", row).group(1) for row in field_rows(SiteConfig)]  # type: ignore[union-attr]
    for _folder, model, _depth in CONTENT_DIRS.values():
        keys += list(model.model_fields)
    for key in keys:
        assert f"<code>{key}</code>" in text, key


def test_handbook_makes_no_third_party_request(handbook: Path) -> None:
    external = re.compile(r"""(?:<script[^>]+src|<link[^>]+href|<img[^>]+src|@import\s+url\()\s*=?\s*["']?(?:https?:)?//""", re.I)
    for path in handbook.rglob("*"):
        if path.suffix in (".html", ".css"):
            text = path.read_text(errors="replace")
            assert not external.search(text), f"{path.relative_to(handbook)} loads something from another site"
            assert "fonts.googleapis" not in text and "fonts.gstatic" not in text


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "handbook", tmp_path / "handbook")
    page = tmp_path / "handbook" / "docs" / "editors" / "summary.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    with pytest.raises(BuildError, match="did not build"):
        build_handbook(tmp_path, tmp_path / "out")


def test_site_build_can_publish_the_handbook_under_handbook(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "repo")
    shutil.copytree(PROJECT / "handbook", root / "handbook")
    result = build(root, tmp_path / "_site", now=BUILD_NOW, extra_stages=[handbook_stage(root)])
    assert (result.output / "handbook" / "index.html").is_file()
    assert (result.output / "index.html").is_file()


@pytest.mark.browser
def test_screenshots_of_the_sample_site(tmp_path: Path) -> None:
    """The screenshot script works (in its own process: Playwright allows one sync driver per process)."""
    import subprocess
    import sys

    assert Path("/usr/bin/chromium").exists(), "Debian's chromium is missing: make setup-test installs it"
    repo = copy_sample(tmp_path / "repo")
    script = (
        "import importlib.util, sys\n"
        "from pathlib import Path\n"
        f"spec = importlib.util.spec_from_file_location('shots', {str(PROJECT / 'handbook' / 'screenshots.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['shots'] = module; spec.loader.exec_module(module)\n"
        f"print(module.take(Path({str(repo)!r}), Path({str(tmp_path / 'images')!r}), {{'home.png': '/'}})[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    written = Path(result.stdout.strip().splitlines()[-1])
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = subprocess.run([sys.executable, "-c", f"import runpy; print(' '.join(runpy.run_path({str(PROJECT / 'handbook' / 'screenshots.py')!r}, run_name='x')['SHOTS']))"], capture_output=True, text=True, check=True).stdout.split()
    assert names
    for name in names:
        committed = PROJECT / "handbook" / "docs" / "images" / name
        assert committed.is_file() and committed.stat().st_size < 300_000, f"{name}: run handbook/screenshots.py"


# -- deploy recipes ------------------------------------------------------------------

def unit_sections(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as section → key → values; raises on a line that is neither."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*=.*", line):
            key, _, value = line.partition("=")
            current.setdefault(key, []).append(value)
        else:
            raise AssertionError(f"line {number} is not a section or Key=value: {line!r}")
    return sections


def test_systemd_unit_parses() -> None:
    path = PROJECT / "deploy" / "consult-intake.service"
    unit = unit_sections(path.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["User"] == ["consult"] and service["NoNewPrivileges"] == ["yes"]
    assert " intake " in service["ExecStart"][0] and service["EnvironmentFile"]
    analyze = shutil.which("systemd-analyze")
    if analyze:
        result = subprocess.run([analyze, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60, check=False)
        # The virtualenv it starts does not exist on this machine: that is the only complaint allowed.
        complaints = [line for line in result.stderr.splitlines() if line.strip() and "is not executable" not in line]
        assert not complaints, result.stderr


INSTRUCTIONS = {"FROM", "RUN", "WORKDIR", "COPY", "USER", "ENV", "VOLUME", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "ARG", "LABEL"}


def test_containerfile_parses() -> None:
    text = (PROJECT / "deploy" / "Containerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word = line.split()[0]
        assert word in INSTRUCTIONS, f"unknown instruction {word!r}"
        instructions.append((word, line[len(word):].strip()))
    words = [w for w, _ in instructions]
    assert words[0] == "FROM"
    assert words.index("USER") < words.index("ENTRYPOINT"), "runs as an unprivileged user"
    entry = dict(instructions)["ENTRYPOINT"]
    assert entry.startswith("[") and '"intake"' in entry, "exec form, running the intake"
