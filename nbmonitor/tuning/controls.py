"""The tuner's controls (a widget per hyperparameter) and its status line.

Only numbers and fixed words go into the status line unescaped; study names and
exception texts are user text and are escaped.
"""
from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as W

from .space import Choice, Fixed, IntRange, Param, Uniform

# Sliders stretch to their column's width (up to 440 px) less their margins, so a
# narrow output gets a narrower slider rather than one past its edge.
WIDE = {"width": "auto", "max_width": "440px", "min_width": "0"}
STATUS_STYLE = "color:var(--jp-ui-font-color1,#1f2328)"


def plural(n: int, word: str) -> str:
    """``"1 trial"``, ``"0 trials"``, ``"3 trials"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def status_line(n: int, counts: dict[str, int], running: int | None = None) -> str:
    """The tuner's status as HTML: numbers and fixed words, statuses escaped."""
    training = f"trial #{int(running)} training; " if running is not None else ""
    parts = ", ".join(f"{int(c)} {html.escape(str(s))}" for s, c in counts.items())
    return f"<span style='{STATUS_STYLE}'>{training}{plural(n, 'trial')}" + \
        (f": {parts}" if parts else "") + "</span>"


def error_line(e: BaseException) -> str:
    """An exception as one escaped line of HTML."""
    text = html.escape(f"{type(e).__name__}: {e}")
    return f"<span style='color:var(--jp-error-color1,#cf222e)'><b>error</b>: {text}</span>"


def on_grid(widget: W.Widget, exact: Any, shown: Any) -> bool:
    """True when ``shown`` is ``exact`` rounded to the slider's grid (the browser
    sends back the value it snapped): the exact value is kept."""
    if isinstance(widget, W.FloatLogSlider):
        if not (isinstance(exact, (int, float)) and exact > 0 and shown > 0):
            return False
        return abs(math.log10(shown) - math.log10(exact)) <= widget.step / 2 + 1e-12
    if isinstance(widget, W.FloatSlider):
        return isinstance(exact, (int, float)) and abs(shown - exact) <= widget.step / 2
    return False


def control(param: Param, value: Any) -> W.Widget:
    """The control of one hyperparameter: log slider, slider, int slider, dropdown,
    checkbox, or a text box for a fixed value."""
    name = param.name
    style = {"description_width": "110px"}
    if isinstance(param, Uniform) and param.log:
        return W.FloatLogSlider(value=value, base=10, min=math.log10(param.low),
                                max=math.log10(param.high), step=0.01, description=name,
                                readout_format=".2e", style=style, layout=WIDE)
    if isinstance(param, Uniform):
        return W.FloatSlider(value=value, min=param.low, max=param.high,
                             step=(param.high - param.low) / 100, description=name,
                             readout_format=".3g", style=style, layout=WIDE)
    if isinstance(param, IntRange):
        return W.IntSlider(value=value, min=param.low, max=param.high, step=param.step,
                           description=name, style=style, layout=WIDE)
    if isinstance(param, Choice):
        if sorted(map(repr, param.choices)) == ["False", "True"]:
            return W.Checkbox(value=bool(value), description=name, style=style)
        options = [(str(c), c) for c in param.choices]
        return W.Dropdown(options=options, value=value, description=name, style=style)
    assert isinstance(param, Fixed)
    if isinstance(value, bool):
        return W.Checkbox(value=value, description=name, style=style)
    if isinstance(value, int):
        return W.IntText(value=value, description=name, style=style)
    if isinstance(value, float):
        return W.FloatText(value=value, description=name, style=style)
    if isinstance(value, str):
        return W.Text(value=value, description=name, style=style)
    return W.Text(value=repr(value), description=name, disabled=True, style=style)
