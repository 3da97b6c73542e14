"""The controls row: Pause/Resume, Stop and one slider per knob of the optimizer.

Callbacks only record a request on the run (a flag, or a pending knob value); the
training thread's hooks apply it at the next step boundary. Knob sliders appear
once a hook found the optimizer (``run.knobs``); the refresher builds them.
"""
from __future__ import annotations

import math

import ipywidgets as W

from ..knobs import KNOBS
from ..run import Run
from ..style import WARN
from .routing import NOT_LIVE, live_controls, route_to_sender


class ControlsPanel:
    """Buttons and knobs of one run; :meth:`refresh` runs on the refresher thread."""

    def __init__(self, run: Run, background: bool = False) -> None:
        self.run = run
        self.background = background
        self.stop = W.Button(description="Stop", button_style="danger",
                             layout={"width": "auto", "min_width": "70px"})
        self.pause = W.ToggleButton(value=False, description="Pause",
                                    layout={"width": "auto", "min_width": "84px"})
        self.stop.on_click(lambda _: run.request_stop())
        self.pause.observe(self._on_pause, "value")
        self.stop.add_class("nbm-stop")
        self.pause.add_class("nbm-pause")
        self.sliders: dict[str, W.Widget] = {}
        self.typed: dict[str, W.FloatText] = {}  # exact values of log knobs
        self._syncing = False
        self._rows: dict[str, W.Widget] = {}  # slider and typed value of a log knob
        self.knob_box = W.Box([], layout={"display": "flex", "flex_flow": "row wrap"})
        self.note = W.HTML("")
        self.note.add_class("nbm-controls-note")
        self.live: bool | None = None
        for w in (self.stop, self.pause):
            route_to_sender(w)
        self.buttons = W.HBox([self.pause, self.stop])
        self._checks = 0

    def _on_pause(self, change) -> None:
        if change["new"]:
            self.run.pause()
        else:
            self.run.resume()
        self.pause.description = "Resume" if change["new"] else "Pause"

    def _slider(self, name: str, value: float) -> W.Widget:
        """A slider for knob ``name``; a log knob (lr, weight decay) also gets a box
        for a typed value, which shows the exact value (0 too)."""
        label, lo, hi, log = KNOBS[name]
        common = dict(description=label, continuous_update=False,
                      style={"description_width": "initial"},
                      layout={"flex": "1 1 300px", "min_width": "200px", "max_width": "560px"})
        if log:
            e = math.floor(math.log10(value)) if value > 0 else math.ceil(math.log10(lo))
            low = max(e - 3, math.log10(lo)) if value > 0 else e
            s = W.FloatLogSlider(value=max(value, 10 ** low), base=10, min=low,
                                 max=min(e + 2, math.log10(hi)), step=0.01,
                                 readout=False, **common)
            # Wide enough for the exact value a float prints as (0.08459126528049378).
            typed = W.FloatText(value=value, layout={"width": "calc(22ch + 12px)"})
            typed.add_class(f"nbm-knob-{name}-value")
            self.typed[name] = typed
            s.observe(lambda ch: self._set(name, ch["new"], typed), "value")
            typed.observe(lambda ch: self._typed(name, ch, s), "value")
            route_to_sender(typed)
        else:
            s = W.FloatSlider(value=value, min=lo, max=hi, step=0.001,
                              readout_format=".3f", **common)
            s.observe(lambda ch: self.run.set_control(name, ch["new"]), "value")
        s.add_class(f"nbm-knob-{name}")
        route_to_sender(s)
        return s

    def _set(self, name: str, value: float, typed: W.FloatText) -> None:
        if self._syncing:
            return
        self.run.set_control(name, value)
        self._syncing = True
        try:
            typed.value = float(f"{value:.3g}")
        finally:
            self._syncing = False

    def _typed(self, name: str, change: dict, slider: W.FloatLogSlider) -> None:
        if self._syncing:
            return
        value = change["new"]
        _, lo, hi, _ = KNOBS[name]
        if not (value == 0 or lo <= value <= hi):  # out of range: back to the old value
            self._syncing = True
            try:
                change["owner"].value = change["old"]
            finally:
                self._syncing = False
            return
        self.run.set_control(name, value)
        if value > 0:
            self._syncing = True
            try:
                slider.min = min(slider.min, math.log10(value))
                slider.max = max(slider.max, math.log10(value))
                slider.value = value
            finally:
                self._syncing = False

    def refresh(self) -> None:
        """Build knob sliders once knobs are known; say whether clicks are live."""
        knobs = self.run.knobs
        if knobs and set(knobs) - set(self.sliders):
            for name, value in knobs.items():
                if name not in self.sliders and name in KNOBS and math.isfinite(value):
                    self.sliders[name] = self._slider(name, value)
                    if name in self.typed:
                        self._rows[name] = W.HBox([self.sliders[name], self.typed[name]],
                                                  layout={"flex": "1 1 420px",
                                                          "flex_flow": "row wrap",
                                                          "max_width": "100%"})
            self.knob_box.children = [self._rows.get(n, s) for n, s in self.sliders.items()]
        if self.live is None and self._checks < 40:  # JupyterLab opens its subshell late
            self._checks += 1
            live = live_controls(self.background)
            self.live = False if live is None and self._checks >= 40 else live
            if self.live is False:
                self.note.value = f'<span style="color:{WARN};font-size:12px">{NOT_LIVE}</span>'

    def widgets(self) -> list[W.Widget]:
        """Everything to close at the end."""
        return [self.buttons, self.knob_box, self.note]
