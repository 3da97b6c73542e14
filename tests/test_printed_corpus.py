"""The printed-metric grammar against real lines from tutorials, libraries and
scripts (tests/data/printed_lines.txt): each gives exactly its expected parse, and
the lines that hold no metric give nothing."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from nbmonitor.hooks.printed import parse_line

CORPUS = Path(__file__).parent / "data" / "printed_lines.txt"


def cases() -> list[tuple[str, list[tuple[str, float, bool]]]]:
    out, line = [], None
    for raw in CORPUS.read_text(encoding="utf-8").splitlines():
        if raw.startswith("> "):
            line = raw[2:].replace("\\t", "\t")
        elif raw.startswith("="):
            expected = []
            for pair in raw[1:].split():
                name, value = pair.rsplit("=", 1)
                pct = value.endswith("%")
                expected.append((name, float(value.rstrip("%")), pct))
            out.append((line, expected))
            line = None
    return out


CASES = cases()


def test_the_corpus_is_large_and_mixed():
    assert len(CASES) >= 60
    nothing = [line for line, expected in CASES if not expected]
    assert len(nothing) >= 20, "lines that must give nothing"
    assert len(CASES) - len(nothing) >= 40


@pytest.mark.parametrize("line,expected", CASES, ids=[c[0][:50] for c in CASES])
def test_corpus_line(line, expected):
    got = parse_line(line)
    assert [(n, p) for n, _, p in got] == [(n, p) for n, _, p in expected]
    for (_, v, _), (_, ev, _) in zip(got, expected):
        assert (math.isnan(v) and math.isnan(ev)) or v == pytest.approx(ev)
