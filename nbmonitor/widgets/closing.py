"""Close a widget and every widget it refers to (layouts, styles, scales, marks)."""
from __future__ import annotations

from ipywidgets import Widget


def close_tree(root: Widget) -> None:
    """Close ``root`` and all widgets reachable through its traits, so none is left
    in the kernel or in the notebook's saved widget state."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        for name in w.trait_names():
            try:
                value = getattr(w, name)
            except Exception:
                continue
            items = (value if isinstance(value, (list, tuple)) else
                     value.values() if isinstance(value, dict) else [value])
            stack.extend(v for v in items if isinstance(v, Widget))
        w.close()
