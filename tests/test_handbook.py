"""The editors' handbook builds strictly, lists every schema field, makes no third-party request; deploy files parse."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from generator import handbook as handbook_module
from generator.build import FILES, build
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
    for page in (
        "index.html",
        "editors/review/index.html",
        "editors/review-local/index.html",
        "editors/personal-data/index.html",
        "team/deploy/index.html",
        "reference/index.html",
    ):
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
    external = re.compile(r"""(?:<script[^>]+src|<link[^>]+href|<img[^>]+src|@import\s+url\()\s*=?\s*["']?(?:https?:)?//""", re.IGNORECASE)
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


def test_the_handbook_is_built_again_only_when_its_inputs_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The publishing workflow builds with the handbook on every run: MkDocs runs only when the handbook changed,
    the build keeps its folder whole without walking it, and removes it once the handbook is no longer built."""
    root = copy_sample(tmp_path / "repo")
    shutil.copytree(PROJECT / "handbook", root / "handbook")
    out = tmp_path / "_site"
    runs: list[Path] = []
    real_build = handbook_module.build_handbook

    def counted(source: Path, output: Path) -> Path:
        runs.append(output)
        return real_build(source, output)

    monkeypatch.setattr(handbook_module, "build_handbook", counted)
    build(root, out, now=BUILD_NOW, extra_stages=[handbook_stage(root)])
    assert len(runs) == 1
    assert "handbook/" in (out / FILES).read_text().splitlines(), "recorded as a folder kept whole, not file by file"
    assert not any(line.startswith("handbook/") and line != "handbook/" for line in (out / FILES).read_text().splitlines())
    page = out / "handbook" / "editors" / "summary" / "index.html"
    before = page.read_bytes()

    build(root, out, now=BUILD_NOW, incremental=True, extra_stages=[handbook_stage(root)])
    assert len(runs) == 1, "nothing in the handbook changed: MkDocs did not run"
    assert page.read_bytes() == before and (out / "handbook" / "index.html").is_file(), "and the handbook is kept"

    source = root / "handbook" / "docs" / "editors" / "summary.md"
    source.write_text(source.read_text() + "\nA sentence added for this test.\n")
    build(root, out, now=BUILD_NOW, incremental=True, extra_stages=[handbook_stage(root)])
    assert len(runs) == 2, "a handbook page changed: MkDocs ran again"
    assert "A sentence added for this test." in page.read_text()

    (out / "handbook" / "index.html").unlink()  # a folder someone tidied by hand is built again
    build(root, out, now=BUILD_NOW, incremental=True, extra_stages=[handbook_stage(root)])
    assert len(runs) == 3 and (out / "handbook" / "index.html").is_file()

    build(root, out, now=BUILD_NOW, incremental=True)
    assert not (out / "handbook").exists(), "built without the handbook: its folder is removed"
    assert "handbook/" not in (out / FILES).read_text().splitlines()


def test_a_handbook_build_that_fails_leaves_no_stamp_claiming_it_is_whole(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "repo")
    shutil.copytree(PROJECT / "handbook", root / "handbook")
    out = tmp_path / "_site"
    build(root, out, now=BUILD_NOW, extra_stages=[handbook_stage(root)])
    source = root / "handbook" / "docs" / "editors" / "summary.md"
    original = source.read_text()
    source.write_text(original + "\nSee [the missing page](missing.md).\n")
    with pytest.raises(BuildError, match="did not build"):
        build(root, out, now=BUILD_NOW, incremental=True, extra_stages=[handbook_stage(root)])
    page = out / "handbook" / "editors" / "summary" / "index.html"
    assert "the missing page" in page.read_text(), "MkDocs wrote the pages before it refused the link"
    source.write_text(original)  # the mistake undone: the signature is the first build's again
    build(root, out, now=BUILD_NOW, incremental=True, extra_stages=[handbook_stage(root)])
    assert "the missing page" not in page.read_text(), "built again, not taken as whole"


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
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    written = Path(result.stdout.strip().splitlines()[-1])
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import runpy; print(' '.join(runpy.run_path({str(PROJECT / 'handbook' / 'screenshots.py')!r}, run_name='x')['SHOTS']))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
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


UNITS = ("consult-intake.service", "consult-intake@.service", "consult-publisher.service")
"""All in one machine; one web replica per port (a template); the publisher role."""


@pytest.mark.parametrize("name", UNITS)
def test_systemd_unit_parses(name: str) -> None:
    path = PROJECT / "deploy" / name
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
        instructions.append((word, line[len(word) :].strip()))
    words = [w for w, _ in instructions]
    assert words[0] == "FROM"
    assert words.index("USER") < words.index("ENTRYPOINT"), "runs as an unprivileged user"
    entry = dict(instructions)["ENTRYPOINT"]
    assert entry.startswith("[") and '"intake"' in entry, "exec form, running the intake"
    assert dict(instructions)["CMD"].startswith("["), "the role's arguments, replaced by those given to `run`"
    baked = [line for word, line in instructions if word in ("ENV", "ARG") and "DATABASE_URL" in line]
    assert not baked and "CONSULT_INTAKE_DATABASE_URL" in text, "the database URL comes from the environment at run time, never the image"


def test_replicas_share_one_store_and_one_publisher_role() -> None:
    replica = unit_sections((PROJECT / "deploy" / "consult-intake@.service").read_text())["Service"]
    publisher = unit_sections((PROJECT / "deploy" / "consult-publisher.service").read_text())["Service"]
    assert replica["ExecStart"][0].endswith("intake --host 127.0.0.1 --port %i --no-worker"), "a web replica per instance, no worker"
    assert publisher["ExecStart"][0].endswith(" intake worker")
    for service in (replica, publisher):
        assert service["StateDirectory"] == ["consult-intake"] and service["Environment"][0] == "CONSULT_INTAKE_DATA=/var/lib/consult-intake"
        assert service["EnvironmentFile"] == ["/etc/consult/intake.env"], "secrets and the database URL from one file"
    assert "CONSULT_INTAKE_TRUSTED_PROXIES=127.0.0.1" in replica["Environment"]


def nginx_blocks(text: str) -> list[str]:
    """The directives of an nginx file, comments dropped, as one string per directive or block head; braces must balance."""
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert code.count("{") == code.count("}"), "unbalanced braces"
    return [part.strip() for part in re.split(r"[;{}]", code) if part.strip()]


def test_nginx_spreads_the_intake_over_its_replicas_with_health_checks() -> None:
    upstream = nginx_blocks((PROJECT / "deploy" / "nginx-intake-upstream.conf").read_text())
    location = nginx_blocks((PROJECT / "deploy" / "nginx-intake.conf").read_text())
    assert "upstream consult_intake" in upstream
    servers = [d for d in upstream if d.startswith("server ")]
    assert len(servers) >= 2 and all(re.fullmatch(r"server 127\.0\.0\.1:\d+ max_fails=\d+ fail_timeout=\d+s", s) for s in servers), servers
    assert "proxy_pass http://consult_intake/" in location
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for" in location, "the client's address, appended"
    assert "access_log off" in location, "no client addresses in a log"
    retries = next(d for d in location if d.startswith("proxy_next_upstream "))
    assert "non_idempotent" not in retries and "http_503" not in retries, "a post is never sent twice; the 503 page passes through"
