"""The alert rule grammar: examples, errors with a caret, and no input crashes it."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmonitor.alerts import (AlertSyntaxError, Divergence, NonFinite, Plateau, Span,
                              Threshold, as_rule, default_rules, parse_rule)


@pytest.mark.parametrize("text, canonical", [
    ("val/loss > 2.0 -> stop", "val/loss > 2 -> stop"),
    ("gpu0/util<20 for 60s", "gpu0/util < 20 for 60s"),
    ("gpu0/util < 20 for 2 min", "gpu0/util < 20 for 120s"),
    ("loss >= 1e3 for 50 steps", "loss >= 1000 for 50 steps"),
    ("plateau val/loss 5 epochs -> lr*0.5", "plateau val/loss 5 epochs -> lr*0.5"),
    ("PLATEAU val/acc max for 3 epochs delta 0.001", "plateau val/acc max 3 epochs delta 0.001"),
    ("diverge train/loss x5 after 200 steps -> stop, lr * 0.1",
     "diverge train/loss x5 after 200 steps -> stop, lr*0.1"),
    ("diverge", "diverge *loss* x10 after 100 steps"),
    ("nan", "nan"),
    ("nan train/loss->stop", "nan train/loss -> stop"),
    ("'Avg loss' > 1 -> show", "'Avg loss' > 1 -> show"),
])
def test_rules_parse_to_their_canonical_text(text, canonical):
    rule = parse_rule(text)
    assert str(rule) == canonical
    assert parse_rule(str(rule)) == rule


def test_parsed_fields():
    r = parse_rule("gpu0/util < 20 for 1.5m")
    assert isinstance(r, Threshold) and (r.series, r.op, r.limit) == ("gpu0/util", "<", 20)
    assert r.span == Span(90.0, "s")
    p = parse_rule("plateau val/loss 5 epochs -> lr*0.5")
    assert isinstance(p, Plateau) and p.span == Span(5, "epochs") and p.mode is None
    assert [(a.kind, a.factor) for a in p.actions] == [("lr", 0.5)]
    d = parse_rule("diverge")
    assert isinstance(d, Divergence) and (d.factor, d.warmup) == (10, Span(100, "steps"))
    assert isinstance(parse_rule("nan"), NonFinite)
    assert [str(r) for r in default_rules(stop_on_nan=True)] == [
        "nan -> stop", "diverge *loss* x10 after 100 steps", "gpu*/mem_pct > 95",
        "grad/norm <= 0 for 50 steps", "grad/norm/* <= 0 for 200 steps"]


@pytest.mark.parametrize("text, problem, caret", [
    ("val/loss >> 2", "expected a number", "val/loss >"),
    ("val/loss = 2", "unexpected '='", "val/loss "),
    ("val/loss > two", "expected a number", "val/loss > "),
    ("plateau val/loss 5 fortnights", "unit", "plateau val/loss 5 "),
    ("plateau val/loss 0 epochs", "must be >", "plateau val/loss "),
    ("val/loss > 2 -> explode", "expected an action", "val/loss > 2 -> "),
    ("val/loss > 2 -> stop -> stop", "one -> per rule", "val/loss > 2 -> stop "),
    ("val/loss > 2 for", "expected a duration", "val/loss > 2 for"),
    ("lr > 1 -> lr*0", "positive", "lr > 1 -> lr*"),
    ("x 'unclosed", "unclosed quote", "x "),
    ("diverge loss x0.5", "must be >", "diverge loss "),
    ("val/loss > 2 extra", "unexpected 'extra'", "val/loss > 2 "),
    ("", "expected a condition", ""),
])
def test_malformed_rules_point_at_the_bad_part(text, problem, caret):
    with pytest.raises(AlertSyntaxError) as info:
        parse_rule(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert problem in err.problem
    assert err.pos == len(caret), str(err)
    lines = str(err).splitlines()
    assert lines[-1] == "  " + " " * len(caret) + "^"


def test_as_rule_adds_actions():
    seen = []
    r = as_rule("x > 1", action=["stop", seen.append])
    assert [a.kind for a in r.actions] == ["stop", "call"]
    assert str(r) == "x > 1 -> stop"
    with pytest.raises(AlertSyntaxError):
        as_rule("x > 1", action="explode")


ALPHABET = st.sampled_from(list("ab/_.*0123456789 <>=!-,'\"xe+%") + [
    "plateau ", "diverge ", "nan ", " for ", " after ", " delta ", " min ", " max ", "->",
    " stop", " show", "lr*", " steps", " epochs", "s", "m", "h", "\t", "\n"])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=40), st.lists(ALPHABET, max_size=14).map("".join)))
def test_any_input_parses_or_gives_a_usage_error(text):
    try:
        rule = parse_rule(text)
    except AlertSyntaxError as e:
        assert 0 <= e.pos <= len(text)
        assert str(e).startswith("bad alert rule: ")
        return
    assert parse_rule(str(rule)) == rule  # what it prints reads back the same
