"""How many epochs a cell will run, read from its source when it says so plainly.

``for epoch in range(EPOCHS):`` (also ``tqdm(range(...))`` and ``trange(...)``)
around an inner loop gives the epoch count; the torch hooks multiply it by the
training loader's length to get the total steps that drive the ETA.
"""
from __future__ import annotations

import ast
from typing import Any

_SAFE = (ast.Expression, ast.Name, ast.Constant, ast.Attribute, ast.BinOp, ast.UnaryOp,
         ast.operator, ast.unaryop, ast.Load)


def _safe_eval(node: ast.expr, namespace: dict[str, Any]) -> Any:
    tree = ast.Expression(node)
    if not all(isinstance(n, _SAFE) for n in ast.walk(tree)):
        raise ValueError("not a plain expression")
    return eval(compile(tree, "<nbmonitor>", "eval"), {"__builtins__": {}}, dict(namespace))


def _range_len(call: ast.expr, namespace: dict[str, Any]) -> int | None:
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    fn = call.func
    fname = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
    if fname in ("tqdm", "enumerate", "track") and call.args:
        return _range_len(call.args[0], namespace)
    if fname not in ("range", "trange") or not 1 <= len(call.args) <= 3:
        return None
    try:
        args = [int(_safe_eval(a, namespace)) for a in call.args]
    except Exception:
        return None
    try:
        return len(range(*args))
    except (OverflowError, ValueError):  # range(10**20): more epochs than anyone counts
        return None


def estimate_epochs(source: str, namespace: dict[str, Any] | None) -> int | None:
    """Epoch count of the first top-level ``for ... in range(N)`` that holds a loop."""
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.For) and any(isinstance(n, (ast.For, ast.While))
                                             for b in node.body for n in ast.walk(b)):
            n = _range_len(node.iter, namespace or {})
            if n:
                return n
    return None
