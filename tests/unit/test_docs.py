"""The documentation stays true to the repository.

* Every Python snippet in ``README.md`` and ``docs/**/*.md`` that shows a DAG or a task is copied
  from an example DAG, between ``# [START name]`` / ``# [END name]`` comment lines, and the page
  says where from with ``<!-- snippet: example_dags/<file>.py <name> -->`` right before the fenced
  ``python`` block. The block must equal the marked lines with their common leading indentation
  removed (``textwrap.dedent``), so a snippet cannot drift from code that CI runs.
* ``README.md`` stays short: the reference lives in ``docs/``.
* No file in the repository points at notes outside it.
* Every relative link in the Markdown pages leads to a file (and heading) that exists.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MAX_LINES = 200

SNIPPET_COMMENT = re.compile(r"^<!--\s*snippet:\s*(?P<path>\S+)\s+(?P<name>[\w.-]+)\s*-->\s*$")
MARKER = re.compile(r"^\s*# \[(?P<kind>START|END) (?P<name>[\w.-]+)\]\s*$")
FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
# What a Python block that "shows a DAG or a task" contains: a DAG, a TaskFlow task, or an
# operator/sensor being instantiated or mapped (a class statement defining one does not count).
SHOWS_A_TASK = re.compile(
    r"\bDAG\(|@dag\b|@task\b|(?<!class )\b[A-Z]\w*(?:Operator|Sensor)(?:\.partial)?\(|\.expand(?:_kwargs)?\("
)


def doc_pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


# --------------------------------------------------------------------------- Markdown parsing
def code_blocks(text: str) -> list[tuple[int, int, str, str]]:
    """``(line index of the opening fence, of the closing fence, info string, content)`` per fenced block."""
    lines = text.split("\n")
    blocks = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        end = i + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence) and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        if end == len(lines):
            raise AssertionError(f"unclosed code fence at line {i + 1}")
        blocks.append((i, end, opening["info"].strip(), "\n".join(lines[i + 1 : end])))
        i = end + 1
    return blocks


def prose_lines(text: str) -> list[tuple[int, str]]:
    """``(1-based line number, line)`` of the lines outside fenced code blocks."""
    inside: set[int] = set()
    lines = text.split("\n")
    for start, end, _, _ in code_blocks(text):
        inside.update(range(start, end + 1))
    return [(n + 1, line) for n, line in enumerate(lines) if n not in inside]


def snippet_references(page: Path) -> list[tuple[int, str, str, str | None, str | None]]:
    """``(line, example path, marker name, info string of the next block, its content)`` per snippet comment."""
    text = page.read_text()
    lines = text.split("\n")
    blocks = {start: (info, content) for start, _, info, content in code_blocks(text)}
    found = []
    for n, line in enumerate(lines):
        match = SNIPPET_COMMENT.match(line.strip())
        if not match:
            continue
        info, content = blocks.get(n + 1, (None, None))
        found.append((n + 1, match["path"], match["name"], info, content))
    return found


# --------------------------------------------------------------------------- example DAG markers
def marked_regions(path: Path) -> dict[str, str]:
    """``{name: dedented text}`` of every ``# [START name]`` ... ``# [END name]`` region of a file."""
    regions: dict[str, str] = {}
    open_at: dict[str, int] = {}
    lines = path.read_text().split("\n")
    for n, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        name = match["name"]
        if match["kind"] == "START":
            assert name not in open_at and name not in regions, f"{rel(path)}:{n + 1}: marker {name!r} used twice"
            open_at[name] = n
        else:
            assert name in open_at, f"{rel(path)}:{n + 1}: [END {name}] without a [START {name}]"
            body = [ln for ln in lines[open_at.pop(name) + 1 : n] if not MARKER.match(ln)]
            assert any(ln.strip() for ln in body), f"{rel(path)}: region {name!r} is empty"
            regions[name] = textwrap.dedent("\n".join(body)).strip(
                "\n"
            )  # the formatter may leave blank lines at the edges
    assert not open_at, f"{rel(path)}: [START] without [END]: {sorted(open_at)}"
    return regions


def test_example_dag_markers_are_well_formed():
    examples = sorted((ROOT / "example_dags").glob("*.py"))
    assert examples
    names: dict[str, str] = {}
    for path in examples:
        for name in marked_regions(path):
            assert name not in names, f"marker {name!r} is in both {names[name]} and {rel(path)}"
            names[name] = rel(path)
    assert names, "no example DAG has snippet markers"


def test_marked_regions_strip_the_common_indentation(tmp_path):
    # The dedent rule the snippets follow, pinned: the indentation every marked line shares goes,
    # relative indentation and blank lines stay, nested marker lines are left out.
    dag = tmp_path / "dag.py"
    dag.write_text(
        "with DAG() as dag:\n"
        "    # [START outer]\n"
        "    cancel = Op(\n"
        "        task_id='x',\n"
        "    # [START inner]\n"
        "    )\n"
        "    # [END inner]\n"
        "\n"
        "    cancel >> confirm\n"
        "    # [END outer]\n"
    )
    assert marked_regions(dag) == {
        "outer": "cancel = Op(\n    task_id='x',\n)\n\ncancel >> confirm",
        "inner": ")",
    }
    dag.write_text("    # [START a]\n    x = 1\n")
    with pytest.raises(AssertionError, match="without"):
        marked_regions(dag)


@pytest.mark.parametrize("page", doc_pages(), ids=rel)
def test_snippets_equal_the_marked_lines_of_their_example_dag(page):
    for line, example, name, info, content in snippet_references(page):
        where = f"{rel(page)}:{line}"
        assert info is not None, f"{where}: the snippet comment must be followed at once by a fenced block"
        assert info == "python", f"{where}: the snippet block must be ```python, not ```{info}"
        source = ROOT / example
        assert example.startswith("example_dags/") and source.is_file(), f"{where}: no example DAG {example}"
        regions = marked_regions(source)
        assert name in regions, f"{where}: {example} has no '# [START {name}]' ... '# [END {name}]'"
        assert content == regions[name], (
            f"{where}: the snippet differs from {example} [{name}]; copy the marked lines again "
            "(with their common indentation removed)"
        )


@pytest.mark.parametrize("page", doc_pages(), ids=rel)
def test_python_snippets_that_show_a_task_come_from_an_example_dag(page):
    referenced = {line + 1 for line, *_ in snippet_references(page)}  # the block's fence line (1-based)
    for start, _, info, content in code_blocks(page.read_text()):
        if info.split(" ")[0].lower() not in ("python", "py", "python3"):
            continue
        if SHOWS_A_TASK.search(content):
            assert start + 1 in referenced, (
                f"{rel(page)}:{start + 1}: this Python block shows a DAG or task but has no "
                "'<!-- snippet: example_dags/<file>.py <marker> -->' line right before it"
            )


def test_the_pages_use_snippets():
    # Guards the two tests above against passing vacuously (e.g. if the comment syntax changed).
    assert snippet_references(README), "README.md has no snippet from an example DAG"
    vendor_pages = sorted((ROOT / "docs" / "vendors").glob("*.md"))
    assert vendor_pages
    for page in vendor_pages:
        assert snippet_references(page), f"{rel(page)} has no snippet from an example DAG"


# --------------------------------------------------------------------------- README length
def test_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}); move reference material to docs/"
    )


# --------------------------------------------------------------------------- no outside references
OUTSIDE_NOTES = "shared" + "/"  # spelled so that this file does not contain it


def repository_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git work tree ({exc}); the file list comes from git")
    names = sorted({name for name in listed.decode().split("\0") if name})
    return [ROOT / name for name in names if not name.startswith(".venv/") and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_file_refers_to_notes_outside_the_repository():
    files = repository_files()
    assert README in files and Path(__file__).resolve() in files
    offenders = []
    for path in files:
        text = text_of(path)
        if text is None:
            continue
        offenders += [f"{rel(path)}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE_NOTES in line]
    assert not offenders, (
        f"files refer to {OUTSIDE_NOTES!r}, which is outside the repository; put the facts in docs/ instead: "
        + ", ".join(offenders)
    )


# --------------------------------------------------------------------------- relative links
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+.*)?$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def links(page: Path) -> list[tuple[int, str]]:
    found = []
    for n, line in prose_lines(page.read_text()):
        line = INLINE_CODE.sub("", line)
        found += [(n, m["target"]) for m in INLINE_LINK.finditer(line)]
        found += [(n, m["target"]) for m in REFERENCE_LINK.finditer(line)]
    return found


def heading_anchors(page: Path) -> set[str]:
    """The ids GitHub gives the page's headings (lower case, punctuation dropped, spaces to dashes)."""
    anchors: set[str] = set()
    for _, line in prose_lines(page.read_text()):
        match = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match[1].lower()).replace(" ", "-")
        candidate, i = slug, 0
        while candidate in anchors:
            i += 1
            candidate = f"{slug}-{i}"
        anchors.add(candidate)
    anchors.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", page.read_text()))
    return anchors


@pytest.mark.parametrize("page", doc_pages(), ids=rel)
def test_relative_links_point_at_existing_files(page):
    broken = []
    for line, target in links(page):
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        path_part = path_part.split("?")[0]
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{rel(page)}:{line}: {target} (no such file)")
            continue
        if ROOT not in dest.parents and dest != ROOT:
            broken.append(f"{rel(page)}:{line}: {target} (outside the repository)")
            continue
        if anchor and dest.suffix == ".md" and anchor not in heading_anchors(dest):
            broken.append(f"{rel(page)}:{line}: {target} (no heading #{anchor} in {rel(dest)})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_link_checker_sees_links():
    # Guards the link test against passing vacuously: the README links to the docs pages.
    targets = {target for _, target in links(README)}
    assert "docs/connections.md" in targets
    assert any(t.startswith("docs/vendors/") for t in targets)
