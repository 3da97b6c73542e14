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
from .routing import NOT_LIVE, live_controls, route_to_sender


class ControlsPanel:
    """Buttons and knobs of one run; :meth:`refresh` runs on the refresher thread."""

    def __init__(self, run: Run, background: bool = False) -> None:
        self.run = run
        self.background = background
        self.stop = W.Button(description="Stop", button_style="danger",
                             layout={"width": "70px"})
        self.pause = W.ToggleButton(value=False, description="Pause",
                                    layout={"width": "80px"})
        self.stop.on_click(lambda _: run.request_stop())
        self.pause.observe(self._on_pause, "value")
        self.stop.add_class("nbm-stop")
        self.pause.add_class("nbm-pause")
        self.sliders: dict[str, W.Widget] = {}
        self.knob_box = W.HBox([])
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
        label, lo, hi, log = KNOBS[name]
        common = dict(description=label, continuous_update=False,
                      style={"description_width": "initial"}, layout={"width": "300px"})
        if log:
            e = math.floor(math.log10(value)) if value > 0 else math.log10(lo)
            s = W.FloatLogSlider(value=max(value, 10 ** (e - 3)), base=10, min=e - 3,
                                 max=min(e + 2, math.log10(hi)), step=0.05,
                                 readout_format=".2e", **common)
        else:
            s = W.FloatSlider(value=value, min=lo, max=hi, step=0.001,
                              readout_format=".3f", **common)
        s.observe(lambda ch: self.run.set_control(name, ch["new"]), "value")
        s.add_class(f"nbm-knob-{name}")
        route_to_sender(s)
        return s

    def refresh(self) -> None:
        """Build knob sliders once knobs are known; say whether clicks are live."""
        knobs = self.run.knobs
        if knobs and set(knobs) - set(self.sliders):
            for name, value in knobs.items():
                if name not in self.sliders and name in KNOBS and math.isfinite(value):
                    self.sliders[name] = self._slider(name, value)
            self.knob_box.children = list(self.sliders.values())
        if self.live is None and self._checks < 40:  # JupyterLab opens its subshell late
            self._checks += 1
            live = live_controls(self.background)
            self.live = False if live is None and self._checks >= 40 else live
            if self.live is False:
                self.note.value = f'<span style="color:#9a6700;font-size:12px">{NOT_LIVE}</span>'

    def widgets(self) -> list[W.Widget]:
        """Everything to close at the end."""
        return [self.buttons, self.knob_box, self.note]
