"""README.md: the Log Streams comparison names a source for every claim; its links point somewhere."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
HEADING = "## Why this instead of Auth0 Log Streams?"


def section(heading: str) -> str:
    start = README.index(heading + "\n")
    end = README.find("\n## ", start + len(heading))
    return README[start : end if end != -1 else len(README)]


def anchors() -> set[str]:
    """GitHub's anchors of the README's headings: lower case, punctuation dropped, spaces to dashes."""
    titles = re.findall(r"^#{2,4} (.+)$", README, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def comparison() -> tuple[list[list[str]], dict[str, str]]:
    text = section(HEADING)
    rows = [line for line in text.splitlines() if line.startswith("| **")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    sources = dict(re.findall(r"^\[(\d+)\] (.+?)(?: ·)?$", text, re.MULTILINE))
    return cells, sources


def test_the_comparison_covers_what_the_issue_asks_for():
    cells, _ = comparison()
    topics = {row[0].strip("*") for row in cells}
    asked = {"filtering", "authenticity", "retries and failures", "pausing", "replay", "PII", "latency", "cost"}
    assert asked | {"where the data lives"} <= topics
    assert all(len(row) == 5 for row in cells), "a row with a missing or extra column"


def test_every_claim_names_a_source_that_is_listed():
    cells, sources = comparison()
    for row in cells:
        for cell in row[1:]:
            cited = re.findall(r"\[(\d+)\]", cell)
            assert cited, f"{row[0]}: a claim without a source: {cell!r}"
            assert set(cited) <= set(sources), f"{row[0]}: cites a source that is not listed: {cell!r}"
    body = section(HEADING).split("\nSources:\n")[0]
    assert set(sources) == set(re.findall(r"\[(\d+)\]", body)), "a listed source nothing cites"


def test_every_source_is_a_link_a_section_or_a_file_of_this_repository():
    _, sources = comparison()
    known = anchors()
    for number, source in sources.items():
        links = re.findall(r"https://\S+", source)
        sections = re.findall(r"\]\(#([\w-]+)\)", source)
        files = [path for path in re.findall(r"`([\w/.-]+\.py)`", source)]
        assert links or sections or files, f"[{number}] names no link, section or file: {source!r}"
        assert set(sections) <= known, f"[{number}] links a section that does not exist: {sections}"
        assert all((ROOT / path).is_file() for path in files), f"[{number}] names a missing file: {files}"
