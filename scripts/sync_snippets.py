"""Copy the marked lines of the example DAGs into the docs' snippet blocks (run after editing an example).

A docs page shows a snippet as ``<!-- snippet: example_dags/x.py name -->`` followed by a fenced
``python`` block; this rewrites that block from the ``# [START name]`` .. ``# [END name]`` lines of the
example DAG, with their common indentation removed. ``tests/unit/test_docs.py`` checks they match.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNIPPET = re.compile(r"^<!--\s*snippet:\s*(?P<path>\S+)\s+(?P<name>[\w.-]+)\s*-->\s*$")


def marked(path: Path, name: str) -> str:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# [START {name}]")
    end = next(i for i, line in enumerate(lines) if line.strip() == f"# [END {name}]")
    return textwrap.dedent("\n".join(lines[start + 1 : end])).strip("\n")


def sync(page: Path) -> bool:
    lines = page.read_text().splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        match = SNIPPET.match(lines[i])
        if match and i + 1 < len(lines) and lines[i + 1].startswith("```"):
            fence_end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
            out += [lines[i + 1], *marked(REPO / match["path"], match["name"]).splitlines(), lines[fence_end]]
            i = fence_end
        i += 1
    text = "\n".join(out) + "\n"
    changed = text != page.read_text()
    page.write_text(text)
    return changed


if __name__ == "__main__":
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    changed = [str(p.relative_to(REPO)) for p in pages if sync(p)]
    print("updated: " + (", ".join(changed) or "nothing"))
    sys.exit(0)
