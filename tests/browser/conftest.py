"""Fixtures of the browser suite: a JupyterLab 4 server in a subprocess, with every
Jupyter and IPython directory it writes in a temporary folder, and Debian's
Chromium driven by Playwright (no browser download).

The lab extensions for ipywidgets and bqplot are found through the environment's
``share/jupyter``, which stays on the data path whatever JUPYTER_DATA_DIR says.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NBMONITOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory) -> dict[str, str]:
    """Environment with private Jupyter/IPython dirs; kernels import this checkout."""
    base = tmp_path_factory.mktemp("jupyter-home")
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "mpl")]:
        (base / sub).mkdir()
        env[var] = str(base / sub)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("NBMONITOR_FRONTEND", None)
    return env


@pytest.fixture(scope="session")
def lab(tmp_path_factory, jupyter_env):
    """A running JupyterLab: ``lab.url``, ``lab.root`` (its notebook folder)."""
    root = tmp_path_factory.mktemp("lab-root")
    settings = tmp_path_factory.mktemp("lab-settings")
    # No "get notified about news?" toast over the screenshots.
    notes = settings / "user" / "@jupyterlab" / "apputils-extension"
    notes.mkdir(parents=True)
    (notes / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    port = _free_port()
    log = open(root.parent / "jupyter-lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={settings / 'user'}",
         f"--LabApp.workspaces_dir={settings / 'workspaces'}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=jupyter_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/api/status", proc, timeout=90)
        yield type("Lab", (), {"url": url, "root": root, "proc": proc})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# Console lines that are not the page's fault: the server has no favicon.
NOT_ERRORS = ("favicon",)


@pytest.fixture
def page(browser):
    """A fresh Chromium page; the test fails if the page logs a console error or
    throws an uncaught exception at any time (widgets, bqplot and lab alike)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        yield pg
    finally:
        context.close()
    # A test that refuses requests on purpose lists the messages that follow from it.
    allowed = NOT_ERRORS + tuple(getattr(pg, "expected_console_errors", ()))
    bad = [e for e in errors if not any(s in e for s in allowed)]
    assert not bad, f"console errors during the test: {bad}"


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """Where screenshots and exports are kept as artifacts."""
    BUILD.mkdir(exist_ok=True)
    return BUILD
