"""The frozen snapshot shows everywhere a notebook is shared: notebooks executed
by nbclient and by papermill are valid, keep small outputs, and their HTML
exports show the snapshot image in Chromium with the network off."""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .notebooks import HOSTILE_METRIC, HOSTILE_NAME, training_notebook, write

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]
MAX_OUTPUT = 300_000  # bytes per frozen output
TRAIN = 2


def _execute_nbclient(src: Path, out: Path, env: dict) -> None:
    nb = nbformat.read(str(src), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(src.parent)}}).execute(env=env)
    nbformat.write(nb, str(out))


def _execute_papermill(src: Path, out: Path, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "papermill", str(src), str(out), "-k", "python3",
                    "--cwd", str(src.parent), "--no-progress-bar"],
                   env=env, check=True, capture_output=True, timeout=300)


def to_html(nb_path: Path, env: dict) -> Path:
    """``jupyter nbconvert --to html``, as ``make demo`` does."""
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(nb_path),
                    "--output-dir", str(nb_path.parent)],
                   env=env, check=True, capture_output=True, timeout=120)
    return nb_path.with_suffix(".html")


@pytest.fixture(scope="module", params=["nbclient", "papermill"])
def executed(request, tmp_path_factory, jupyter_env) -> Path:
    """The hostile-named training notebook, executed by nbclient or papermill."""
    d = tmp_path_factory.mktemp(request.param)
    src = write(training_notebook(3, f"--name '{HOSTILE_NAME}'", extra_log=HOSTILE_METRIC),
                d / "source.ipynb")
    out = d / f"executed-{request.param}.ipynb"
    {"nbclient": _execute_nbclient, "papermill": _execute_papermill}[request.param](
        src, out, jupyter_env)
    return out


def _frozen_outputs(nb) -> list[dict]:
    return [o for o in nb.cells[TRAIN].outputs
            if o.output_type in ("display_data", "execute_result")]


def test_executed_notebook_is_valid_with_small_frozen_output(executed):
    nb = nbformat.read(str(executed), as_version=4)
    nbformat.validate(nb)
    widgets = nb.metadata.get("widgets")
    if widgets:
        for mime, value in widgets.items():
            assert "state" in value, f"metadata.widgets[{mime!r}] has no state"
    frozen = _frozen_outputs(nb)
    assert len(frozen) == 1, [o.get("data", {}).keys() for o in frozen]
    data = frozen[0].data
    assert "image/png" in data and "text/plain" in data
    assert "application/vnd.jupyter.widget-view+json" not in data
    size = len(json.dumps(frozen[0]).encode())
    assert size <= MAX_OUTPUT, f"frozen output is {size} bytes"
    text = data["text/plain"]
    for want in (HOSTILE_NAME, HOSTILE_METRIC, "finished", "steps", "duration", "last",
                 "best"):
        assert want in text, f"{want!r} missing from the summary:\n{text}"


def _open_offline(page, html_path: Path) -> list[str]:
    """Load an exported HTML file with every network request refused; return the
    URLs that were refused."""
    blocked: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.expected_console_errors = ("Failed to load resource: net::ERR_FAILED",)
    page.goto(html_path.as_uri(), wait_until="load")
    return blocked


def _images_loaded(page) -> list[dict]:
    return page.evaluate(
        "() => [...document.images].map(i => ({src: i.src.slice(0, 30),"
        " ok: i.complete && i.naturalWidth > 0}))")


def test_html_export_shows_snapshot_offline_and_runs_no_markup(executed, jupyter_env, page,
                                                              build_dir):
    out = to_html(executed, jupyter_env)
    source = out.read_text(encoding="utf-8")
    assert re.search(r'<img [^>]*src="data:image/(png|svg\+xml);base64,', source), \
        "no embedded snapshot image in the HTML export"
    # Outside <script> blocks (nbconvert escapes the widget-state JSON in its own),
    # the names only appear escaped.
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", source, flags=re.S)
    assert html.escape(HOSTILE_METRIC, quote=False) in markup
    assert HOSTILE_METRIC not in markup and HOSTILE_NAME not in markup

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open_offline(page, out)
    images = _images_loaded(page)
    assert images, "no image in the export"
    assert all(i["ok"] for i in images), images
    assert dialogs == [], f"a dialog fired: {dialogs}"
    assert page.evaluate("() => window.__pwned") is None, "an onerror handler ran"
    assert page.locator('img[src="x"]').count() == 0
    assert HOSTILE_NAME in page.locator("body").inner_text()
    page.screenshot(path=str(build_dir / f"export-{executed.stem}.png"), full_page=True)


def test_make_demo_html_loads_offline(tmp_path, jupyter_env, page):
    """``make demo``'s commands, into a temporary folder: the quickstart executes and
    its HTML shows every image with no network."""
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                    "--execute", str(ROOT / "notebooks" / "quickstart.ipynb"),
                    "--ExecutePreprocessor.timeout=600", "--output-dir", str(tmp_path),
                    "--output", "quickstart.ipynb"],
                   env=jupyter_env, check=True, capture_output=True, timeout=600)
    nb = nbformat.read(str(tmp_path / "quickstart.ipynb"), as_version=4)
    nbformat.validate(nb)
    out = to_html(tmp_path / "quickstart.ipynb", jupyter_env)
    _open_offline(page, out)
    images = _images_loaded(page)
    assert images and all(i["ok"] for i in images), images
    assert "Error displaying widget" not in page.locator("body").inner_text()
