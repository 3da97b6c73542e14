"""Names a person recognises for optimizers and parameters.

An optimizer is named by its variable name where the loop runs (the cell's
namespace, then the frames of the code that called ``step``), else by the
variable name of the first module owning its parameters, else ``opt{i}``.
Parameters are named by module path (``encoder.layers.3.attn.q_proj.weight``),
prefixed by the model's variable name when several models share an optimizer
set (``netD.main.0.weight``).
"""
from __future__ import annotations

import os
import re
import sys
from typing import Any, Iterable

import torch
from torch import nn

_SKIP = (os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(__file__)))


def user_scopes(namespace: dict | None, depth: int = 40) -> list[tuple[dict, bool]]:
    """Dicts of variables to search, nearest first: the frames of user code on
    the stack (not torch's, not ours), then ``namespace``. The flag says whether
    a dict is module-level (globals), where old objects of earlier cells live."""
    out: list[tuple[dict, bool]] = []
    f = sys._getframe(1)
    while f is not None and depth > 0:
        depth -= 1
        if not f.f_code.co_filename.startswith(_SKIP):
            glob = f.f_locals is f.f_globals or f.f_code.co_name == "<module>"
            out.append((f.f_locals if not glob else f.f_globals, glob))
            if len(out) >= 4:
                break
        f = f.f_back
    if namespace is not None:
        out.append((namespace, True))
    return out


def _mentioned(name: str, source: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", source) is not None


def named(kind: type, scopes: list[tuple[dict, bool]], source: str = "") -> dict[str, Any]:
    """``{variable name: object}`` of every ``kind`` instance in ``scopes``; at
    module level only names the cell's ``source`` mentions (when it is known)."""
    found: dict[str, Any] = {}
    seen: set[int] = set()
    for scope, glob in scopes:
        try:
            items = list(scope.items())
        except Exception:  # a frame proxy that cannot be read
            continue
        for name, obj in items:
            if (isinstance(obj, kind) and not name.startswith("_") and id(obj) not in seen
                    and (not glob or not source or _mentioned(name, source))):
                seen.add(id(obj))
                found[name] = obj
    return found


def params_of(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Every parameter of ``optimizer``, group by group."""
    return [p for g in optimizer.param_groups for p in g["params"]]


def owner_name(optimizer: torch.optim.Optimizer, modules: dict[str, nn.Module]) -> str | None:
    """The variable name of the first module owning ``optimizer``'s first parameter."""
    params = params_of(optimizer)
    if not params:
        return None
    first = id(params[0])
    for name, m in modules.items():
        if any(id(p) == first for p in m.parameters()):
            return name
    return None


def parameter_names(params: Iterable[torch.Tensor],
                    modules: dict[str, nn.Module]) -> dict[int, str]:
    """``{id(param): module path}`` for ``params``, from the largest modules in
    scope that own them; several root models prefix their variable name."""
    wanted = {id(p) for p in params}
    roots = []
    for name, m in sorted(modules.items(), key=lambda kv: -sum(1 for _ in kv[1].parameters())):
        ids = {id(p) for p in m.parameters()} & wanted
        if ids and not any(ids <= r[2] for r in roots):
            roots.append((name, m, ids))
    out: dict[int, str] = {}
    prefix = len(roots) > 1
    for name, m, _ in roots:
        for path, p in m.named_parameters():
            if id(p) in wanted and id(p) not in out:
                out[id(p)] = f"{name}.{path}" if prefix else path
    return out
