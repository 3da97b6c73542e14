"""The rule parser: text (see :mod:`nbmonitor.alerts`) to a :class:`Rule`.

Every input either parses or raises :class:`AlertSyntaxError` (a ``ValueError``)
whose message shows the rule with a caret under the offending part.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .rules import Divergence, NonFinite, Plateau, Rule, Threshold
from .terms import SECONDS, UNIT_NAMES, Action, Span

_TOKEN = re.compile(r"""\s*(?:(?P<arrow>->)|(?P<op>>=|<=|==|!=|>|<)"""
                    r"""|(?P<quoted>'[^']*'|"[^"]*")|(?P<word>(?:[^\s<>=!'"-]|-(?!>))+))""")
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(_NUM)
_SPAN_RE = re.compile(rf"({_NUM})([A-Za-z]+)")
_FACTOR_RE = re.compile(rf"x({_NUM})")
_LR_RE = re.compile(rf"\s*lr\s*\*\s*({_NUM})\s*")
DIVERGE_SERIES = "*loss*"


class AlertSyntaxError(ValueError):
    """A malformed alert rule; ``pos`` is where in ``text`` the problem is."""

    def __init__(self, problem: str, text: str, pos: int) -> None:
        self.problem, self.text, self.pos = problem, text, max(0, min(pos, len(text)))
        shown = re.sub(r"\s", " ", text)
        super().__init__(f"bad alert rule: {problem}\n  {shown}\n  {' ' * self.pos}^")


@dataclass(frozen=True)
class _Tok:
    kind: str  # arrow | op | quoted | word
    text: str
    pos: int


def tokenize(text: str) -> list[_Tok]:
    """Words, quoted names, comparison operators and ``->``, with their offsets."""
    toks, i = [], 0
    while True:
        m = _TOKEN.match(text, i)
        if m is None or m.end() == i:
            rest = text[i:]
            if rest.strip():
                pos = i + len(rest) - len(rest.lstrip())
                what = "unclosed quote" if text[pos] in "'\"" else f"unexpected {text[pos]!r}"
                raise AlertSyntaxError(what, text, pos)
            return toks
        kind = m.lastgroup
        toks.append(_Tok(kind, m.group(kind), m.start(kind)))
        i = m.end()


class _Parser:
    def __init__(self, text: str, toks: list[_Tok], end: int) -> None:
        self.text, self.toks, self.i, self.end = text, toks, 0, end

    def fail(self, problem: str, tok: _Tok | None = None) -> AlertSyntaxError:
        tok = tok or self.peek()
        return AlertSyntaxError(problem, self.text, tok.pos if tok else self.end)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.fail(f"expected {what} here")
        self.i += 1
        return tok

    def word_is(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def series(self) -> str:
        tok = self.next("a series name")
        if tok.kind == "quoted" and len(tok.text) > 2:
            return tok.text[1:-1]
        if tok.kind != "word" or _NUM_RE.fullmatch(tok.text) or _SPAN_RE.fullmatch(tok.text):
            raise self.fail("expected a series name", tok)
        return tok.text

    def number(self, what: str, low: float | None = None, above: bool = False) -> float:
        tok = self.next(what)
        if tok.kind != "word" or not _NUM_RE.fullmatch(tok.text):
            raise self.fail(f"expected {what}", tok)
        return self._check(float(tok.text), what, tok, low, above)

    def _check(self, x: float, what: str, tok: _Tok, low: float | None, above: bool) -> float:
        if not math.isfinite(x):
            raise self.fail(f"{what} must be a finite number", tok)
        if low is not None and (x <= low if above else x < low):
            raise self.fail(f"{what} must be {'>' if above else '>='} {low:g}", tok)
        return x

    def span(self, what: str, positive: bool = False) -> Span:
        """``60s``, ``60 s``, ``2m``, ``100 steps``, ``5 epochs``."""
        tok = self.next(what)
        m = _SPAN_RE.fullmatch(tok.text) if tok.kind == "word" else None
        if m:
            amount, unit, unit_tok = m.group(1), m.group(2), tok
        elif tok.kind == "word" and _NUM_RE.fullmatch(tok.text):
            unit_tok = self.next("a unit (s, m, h, steps, epochs)")
            amount, unit = tok.text, unit_tok.text if unit_tok.kind == "word" else ""
        else:
            raise self.fail(f"expected {what} (e.g. 60s, 2m, 100 steps, 5 epochs)", tok)
        norm = UNIT_NAMES.get(unit.lower())
        if norm is None:
            raise self.fail("expected a unit: s, m, h, steps or epochs", unit_tok)
        x = self._check(float(amount), what, tok, 0.0, positive)
        if norm in SECONDS:
            x, norm = x * SECONDS[norm], "s"
            if not math.isfinite(x):
                raise self.fail(f"{what} must be a finite number", tok)
        return Span(x, norm)

    # -- conditions --------------------------------------------------------
    def condition(self) -> Rule:
        if self.word_is("plateau"):
            self.i += 1
            series = self.series()
            mode = self.next("min/max").text.lower() if self.word_is("min", "max") else None
            if self.word_is("for"):
                self.i += 1
            span = self.span("a plateau length", positive=True)
            delta = 0.0
            if self.word_is("delta"):
                self.i += 1
                delta = self.number("a minimum improvement", low=0.0)
            return Plateau(series=series, mode=mode, span=span, delta=delta)
        if self.word_is("diverge", "divergence"):
            self.i += 1
            series = DIVERGE_SERIES
            if self.peek() is not None and not self.word_is("after", "x") and not (
                    self.peek().kind == "word" and _FACTOR_RE.fullmatch(self.peek().text)):
                series = self.series()
            factor = 10.0
            tok = self.peek()
            if tok is not None and tok.kind == "word" and _FACTOR_RE.fullmatch(tok.text):
                self.i += 1
                factor = self._check(float(tok.text[1:]), "the factor", tok, 1.0, True)
            elif self.word_is("x"):
                self.i += 1
                factor = self.number("the factor", low=1.0, above=True)
            warmup = Span(100.0, "steps")
            if self.word_is("after"):
                self.i += 1
                warmup = self.span("a warm-up length")
            return Divergence(series=series, factor=factor, warmup=warmup)
        if self.word_is("nan", "nonfinite", "non-finite"):
            self.i += 1
            return NonFinite(series=self.series() if self.peek() else "")
        series = self.series()
        tok = self.next("a comparison (> >= < <=)")
        if tok.kind != "op" or tok.text not in (">", ">=", "<", "<="):
            raise self.fail("expected a comparison: > >= < <=", tok)
        limit = self.number("a number")
        span = None
        if self.word_is("for"):
            self.i += 1
            span = self.span("a duration")
        return Threshold(series=series, op=tok.text, limit=limit, span=span)


def parse_actions(text: str, start: int) -> tuple[Action, ...]:
    """``show``, ``stop`` and ``lr*F`` separated by commas, from ``text[start:]``."""
    actions = []
    pos = start
    for piece in text[start:].split(","):
        word = piece.strip().lower()
        at = pos + len(piece) - len(piece.lstrip())
        if word in ("show", "stop"):
            actions.append(Action(word))
        elif m := _LR_RE.fullmatch(piece):
            factor = float(m.group(1))
            if not (factor > 0 and math.isfinite(factor)):
                raise AlertSyntaxError("the lr factor must be a positive number", text,
                                       pos + m.start(1))
            actions.append(Action("lr", factor))
        else:
            raise AlertSyntaxError("expected an action: show, stop or lr*FACTOR", text, at)
        pos += len(piece) + 1
    return tuple(actions)


def parse_rule(text: str) -> Rule:
    """Parse one rule (see :mod:`nbmonitor.alerts` for the grammar)."""
    if not isinstance(text, str):
        raise AlertSyntaxError(f"a rule is a string, not {type(text).__name__}", "", 0)
    toks = tokenize(text)
    arrows = [i for i, t in enumerate(toks) if t.kind == "arrow"]
    cut = arrows[0] if arrows else len(toks)
    if not toks or cut == 0:
        raise AlertSyntaxError("expected a condition (e.g. val/loss > 2)", text,
                               toks[0].pos if toks else len(text))
    if len(arrows) > 1:
        raise AlertSyntaxError("one -> per rule (separate actions with commas)", text,
                               toks[arrows[1]].pos)
    end = toks[cut].pos if arrows else len(text.rstrip())
    parser = _Parser(text, toks[:cut], end)
    rule = parser.condition()
    if parser.peek() is not None:
        raise parser.fail(f"unexpected {parser.peek().text!r}")
    if not arrows:
        return rule
    actions = parse_actions(text, toks[cut].pos + 2)
    return rule.with_actions(*actions)
