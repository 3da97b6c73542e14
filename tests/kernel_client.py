"""A real kernel driven by jupyter_client, with the test acting as the browser.

:class:`BrowserSide` starts a kernel from any Python (a kernelspec written to a
temp dir points at it), runs cells, reads iopub (widget ``comm_open`` and
updates), and sends what JupyterLab sends: widget ``comm_msg`` on the shell
channel, optionally with a ``subshell_id`` header field, and
``create_subshell_request`` on the control channel (ipykernel >= 7).
Every message received is kept with the time it arrived (``time.time()``, the
clock the kernel's ``Run.ended`` uses: same machine).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

REPO = Path(__file__).resolve().parent.parent
SPEC = "nbm-kernel-under-test"


def kernel_env() -> dict[str, str]:
    """The kernel's environment: this worktree's nbmonitor first, widgets frontend."""
    env = {k: v for k, v in os.environ.items() if k != "NBMONITOR_FRONTEND"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


class BrowserSide:
    """One kernel and the client that plays JupyterLab's part."""

    def __init__(self, python: str, tmp: Path) -> None:
        spec_dir = tmp / "kernels" / SPEC
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "kernel under test", "language": "python"}))
        ksm = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
        self.km = KernelManager(kernel_name=SPEC, kernel_spec_manager=ksm)
        self.km.start_kernel(env=kernel_env(), cwd=str(tmp))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.iopub: list[tuple[float, dict]] = []
        self.replies: dict[str, tuple[float, dict]] = {}
        self.info = self.request(self.kc.session.msg("kernel_info_request", {}),
                                 channel="shell")["content"]
        self.version: str = self.run_json(
            "import ipykernel, json; print(json.dumps(ipykernel.__version__))")

    # -- receiving ---------------------------------------------------------
    def pump(self, until: Callable[[], bool], timeout: float) -> bool:
        """Read every channel until ``until()`` holds (True) or ``timeout`` s (False)."""
        deadline = time.time() + timeout
        chans = (self.kc.iopub_channel, self.kc.shell_channel, self.kc.control_channel)
        while not until():
            if time.time() > deadline:
                return False
            got = False
            for ch in chans:
                while ch.msg_ready():
                    msg, got = ch.get_msg(timeout=1), True
                    now = time.time()
                    if ch is self.kc.iopub_channel:
                        self.iopub.append((now, msg))
                    else:
                        self.replies[msg["parent_header"].get("msg_id", "")] = (now, msg)
            if not got:
                time.sleep(0.005)
        return True

    def wait_reply(self, msg_id: str, timeout: float) -> tuple[float, dict]:
        """(arrival time, reply) of the request ``msg_id``."""
        if not self.pump(lambda: msg_id in self.replies, timeout):
            raise TimeoutError(f"no reply to {msg_id} in {timeout} s")
        return self.replies[msg_id]

    def request(self, msg: dict, channel: str = "shell", timeout: float = 30) -> dict:
        """Send ``msg`` on ``channel`` and return its reply."""
        getattr(self.kc, f"{channel}_channel").send(msg)
        return self.wait_reply(msg["header"]["msg_id"], timeout)[1]

    def stdout(self, msg_id: str) -> str:
        """What the cell ``msg_id`` printed (stream messages so far)."""
        return "".join(m["content"].get("text", "") for _, m in self.iopub
                       if m["msg_type"] == "stream"
                       and m["parent_header"].get("msg_id") == msg_id)

    def run(self, code: str, timeout: float = 120) -> dict:
        """Execute ``code``, wait for it; its reply content (error shown on failure)."""
        msg_id = self.kc.execute(code)
        reply = self.wait_reply(msg_id, timeout)[1]["content"]
        if reply["status"] != "ok":
            raise AssertionError(f"cell failed: {reply.get('ename')}: {reply.get('evalue')}"
                                 f"\n{self.stdout(msg_id)}")
        return reply

    def run_json(self, code: str, timeout: float = 120) -> dict:
        """Execute ``code`` and parse the JSON object its last printed line is."""
        msg_id = self.kc.execute(code)
        reply = self.wait_reply(msg_id, timeout)[1]["content"]
        self.pump(lambda: False, 0.2)  # stream messages may trail the reply
        out = self.stdout(msg_id).strip()
        if reply["status"] != "ok" or not out:
            raise AssertionError(f"cell failed: {reply.get('ename')}: {reply.get('evalue')}"
                                 f" {reply.get('traceback')}\n{out}")
        return json.loads(out.splitlines()[-1])

    # -- widgets -----------------------------------------------------------
    def find_widget(self, model: str, description: str) -> str | None:
        """comm_id of the widget opened with that model name and description."""
        for _, m in self.iopub:
            if m["msg_type"] == "comm_open":
                state = m["content"].get("data", {}).get("state", {})
                if state.get("_model_name") == model and state.get("description") == description:
                    return m["content"]["comm_id"]
        return None

    def saw_text(self, needle: str) -> bool:
        """Whether any widget state sent so far contains ``needle``."""
        return any(needle in json.dumps(m["content"].get("data", {})) for _, m in self.iopub
                   if m["msg_type"] in ("comm_open", "comm_msg"))

    def first_after(self, needle: str, since: float) -> float | None:
        """Arrival time of the first iopub message after ``since`` whose content
        (widget state, display update) contains ``needle``."""
        for t, m in self.iopub:
            if t > since and needle in json.dumps(m["content"]):
                return t
        return None

    def comm_msg(self, comm_id: str, data: dict[str, Any],
                 subshell_id: str | None = None) -> float:
        """Send a widget message as JupyterLab does; the time it was sent."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if subshell_id is not None:
            msg["header"]["subshell_id"] = subshell_id
        sent = time.time()
        self.kc.shell_channel.send(msg)
        return sent

    def click(self, comm_id: str, subshell_id: str | None = None) -> float:
        """A button click (``@jupyter-widgets/controls`` ButtonView)."""
        return self.comm_msg(comm_id, {"method": "custom", "content": {"event": "click"}},
                             subshell_id)

    def set_value(self, comm_id: str, value: float, subshell_id: str | None = None) -> float:
        """A slider moved (an ``update`` of ``value``)."""
        return self.comm_msg(comm_id, {"method": "update", "state": {"value": value},
                                       "buffer_paths": []}, subshell_id)

    # -- subshells ---------------------------------------------------------
    @property
    def has_subshells(self) -> bool:
        """Whether kernel_info advertises subshells (ipykernel >= 7)."""
        return "kernel subshells" in self.info.get("supported_features", [])

    def create_subshell(self) -> str:
        """A new subshell's id, asked for on the control channel as JupyterLab does."""
        reply = self.request(self.kc.session.msg("create_subshell_request", {}), "control")
        return reply["content"]["subshell_id"]

    def close(self) -> None:
        """Stop the channels and the kernel."""
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
