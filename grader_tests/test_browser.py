"""End-to-end browser test of the student experience (`make test-browser`).

JupyterLab, started from a temporary copy of the course as a student would start it
(`jupyter lab release/acceleration/`), serves the student version of 04_alignment to headless
Chromium driven by Playwright. The test reads what a student sees on the page:

1. "Run All Cells" on the untouched notebook: the setup cell runs, the first call of the stub
   raises NotImplementedError with its "Replace this line ..." message, and Run All stops;
2. the remaining cells, run one by one: each visible test cell reports an error naming its
   function and NotImplementedError;
3. nbgrader's Validate button (toolbar) reports every graded cell as failed;
4. the instructor's solutions are typed into the solution cells, Run All again: no errors, the
   checks print their ✓ lines;
5. Validate reports success.

Screenshots of each step go to artifacts/browser/. Needs a Chromium binary (Debian's
`chromium` package; $ACCELKIT_CHROMIUM names another one) and `pip install -e .[browser]`;
without them the test is skipped with the reason, or fails where ACCELKIT_REQUIRE_BROWSER=1
(CI). Playwright's own browser downloads are never used.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import psutil
import pytest

from conftest import REPO

pytestmark = pytest.mark.browser

NOTEBOOK = "04_alignment.ipynb"
ARTIFACTS = REPO / "artifacts" / "browser"
STUB_MESSAGE = "Replace this line with your implementation, then run the tests below."
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SERVER_START_S = 90      # JupyterLab start on a busy 2-core machine
RUN_S = 120              # one "Run All" or one cell, numba compilation included
VALIDATE_S = 180         # nbgrader validate runs the whole notebook in a new kernel


def _unavailable(reason: str):
    if os.environ.get("ACCELKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (ACCELKIT_REQUIRE_BROWSER=1: the browser test may not be skipped)")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> str:
    """The Chromium binary; skips (fails under ACCELKIT_REQUIRE_BROWSER=1) without it or
    without Playwright."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright is not installed: `make test-browser` installs it "
                     "(pip install -e '.[browser]')")
    for candidate in (os.environ.get("ACCELKIT_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    _unavailable("no Chromium found (/usr/bin/chromium, chromium on PATH or $ACCELKIT_CHROMIUM): "
                 "install it with `apt-get install -y chromium` (as root)")


# -- the notebook: which cells are what ------------------------------------------------------
def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _solution_text(source: str) -> str:
    """The instructor's solution cell with nbgrader's solution markers removed."""
    lines = [line for line in source.splitlines()
             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


def _cells():
    release = nbformat.read(REPO / "release" / "acceleration" / NOTEBOOK, 4)
    source = nbformat.read(REPO / "source" / "acceleration" / NOTEBOOK, 4)
    solutions = {_nbgrader(c).get("grade_id"): _solution_text(c.source)
                 for c in source.cells if _nbgrader(c).get("solution")}
    stubs = {_nbgrader(c)["grade_id"]: i for i, c in enumerate(release.cells)
             if _nbgrader(c).get("solution")}
    tests = {_nbgrader(c)["grade_id"]: i for i, c in enumerate(release.cells)
             if _nbgrader(c).get("grade")}
    setup = next(i for i, c in enumerate(release.cells) if _nbgrader(c).get("grade_id") == "setup")
    assert stubs and tests and set(stubs) == set(solutions), \
        f"{NOTEBOOK}: solution cells of release {sorted(stubs)} and source {sorted(solutions)} differ"
    return release, setup, stubs, tests, solutions


def _function_of(grade_id: str, functions) -> str:
    """test_aligned_empty_errors -> aligned_empty (the longest function name that fits)."""
    return max((f for f in functions if grade_id.startswith(f"test_{f}_")), key=len)


# -- JupyterLab ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and everything it started (kernels run in sessions of their own)."""
    try:
        started = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)      # the server shuts its kernels down
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for child in started:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(started, timeout=10)


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free localhost port with a random token, serving release/acceleration
    of a course copy, its working directory the copy's root (so nbgrader's Validate reads the
    course's nbgrader_config.py). Yields (base url, token, course root, log file)."""
    course = tmp_path / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in ("release", "source"):
        shutil.copytree(REPO / name, course / name, ignore=ignore)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")

    # Jupyter's per-user folders, empty: nothing from ~/.jupyter changes what is tested
    home = tmp_path / "jupyter"
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "Would you like to get notified about official Jupyter news?" toast
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("NBGRADER_EXECUTION", None)
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [sys.executable, "-m", "jupyterlab", "release/acceleration", "--no-browser",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "jupyterlab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited with {proc.returncode}:\n"
                                     + log_path.read_text()[-4000:])
            try:
                _get(base, token, "api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise AssertionError(f"JupyterLab did not answer on {base} within "
                                         f"{SERVER_START_S} s:\n" + log_path.read_text()[-4000:])
                time.sleep(0.5)
        yield base, token, course, log_path
    finally:
        _stop(proc)
        log.close()


def _get(base: str, token: str, path: str) -> dict:
    request = urllib.request.Request(f"{base}/{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


# -- the page ------------------------------------------------------------------------------
class Notebook:
    """The open notebook in JupyterLab, read through its DOM."""

    def __init__(self, page):
        self.page = page
        self.cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def cell(self, i: int):
        return self.cells.nth(i)

    def prompt(self, i: int) -> str:
        return self.cell(i).locator(".jp-InputPrompt").first.text_content().strip()

    def outputs(self, i: int) -> str:
        area = self.cell(i).locator(".jp-OutputArea")
        return area.first.text_content() if area.count() else ""

    def errors(self, i: int) -> str:
        """Text of the cell's error outputs (tracebacks)."""
        errs = self.cell(i).locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        return "\n".join(errs.nth(k).text_content() for k in range(errs.count()))

    def counts(self) -> list:
        """Execution counts shown in the prompts: a number, '*' (running/queued) or ''."""
        return self.page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-CodeCell .jp-InputPrompt'))
            .map(p => p.textContent.trim().replace(/^\\[|\\]:$/g, '').trim())""")

    def _max_count(self) -> int:
        return max([int(c) for c in self.counts() if c.isdigit()], default=0)

    def _wait_done(self, i: int, after: int, what: str, timeout_s: float) -> None:
        """Until cell i shows an execution count above `after` and nothing is queued."""
        try:
            self.page.wait_for_function(
                """([i, after]) => {
                    const cells = document.querySelectorAll(
                        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
                    const label = p => p.textContent.trim().replace(/^\\[|\\]:$/g, '').trim();
                    const mine = label(cells[i].querySelector('.jp-InputPrompt'));
                    const busy = Array.from(cells).some(
                        c => c.classList.contains('jp-CodeCell') &&
                             label(c.querySelector('.jp-InputPrompt')) === '*');
                    return /^\\d+$/.test(mine) && parseInt(mine) > after && !busy;
                }""", arg=[i, after], timeout=timeout_s * 1000, polling=250)
        except Exception as err:
            raise AssertionError(f"{what} did not finish within {timeout_s:.0f} s; prompts: "
                                 f"{self.counts()}") from err

    def run_all(self, first_code_cell: int) -> None:
        before = self._max_count()
        self.page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-item", has=self.page.locator(
            ".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
        self._wait_done(first_code_cell, before, "Run All Cells", RUN_S)

    def run_cell(self, i: int) -> None:
        before = self._max_count()
        self.cell(i).locator(".jp-InputPrompt").first.click()   # select it (command mode)
        self.page.keyboard.press("Control+Enter")
        self._wait_done(i, before, f"cell {i}", RUN_S)

    def type_into(self, i: int, text: str) -> None:
        """Replace the source of cell i as a student does: select all in its editor, type."""
        editor = self.cell(i).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")
        lines = editor.locator(".cm-line")
        shown = "\n".join(lines.nth(k).text_content() for k in range(lines.count()))
        assert shown == text, f"cell {i} shows\n{shown}\nafter typing\n{text}"

    def validate(self, name: str):
        """Press nbgrader's Validate button; the result dialog's (class, text)."""
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").click()
        dialog = self.page.locator(".jp-Dialog", has_text="Validation Results")
        try:
            dialog.wait_for(timeout=VALIDATE_S * 1000)
        except Exception as err:
            other = self.page.locator(".jp-Dialog")
            raise AssertionError(
                f"no 'Validation Results' dialog within {VALIDATE_S} s after Validate ({name}); "
                f"dialogs: {[other.nth(k).text_content() for k in range(other.count())]}") from err
        message = dialog.locator("#validation-message")
        return dialog, message.get_attribute("class") or "", message.text_content()

    def close_dialog(self, dialog) -> None:
        dialog.locator(".jp-Dialog-button", has_text="Ok").click()
        dialog.wait_for(state="detached")


def _shot(page, name: str, shots: list, locator=None) -> None:
    """Screenshot of the window, scrolled so that `locator` is at the top."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    if locator is not None:
        locator.evaluate("el => el.scrollIntoView({block: 'start'})")
    # cells scrolled into view are painted (content-visibility) in the next frames
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(path))
    shots.append(path)


@pytest.mark.timeout(600)
def test_student_runs_fixes_and_validates(chromium, lab, tmp_path, capsys):
    from playwright.sync_api import sync_playwright

    base, token, course, log_path = lab
    release, setup, stubs, tests, solutions = _cells()
    functions = list(stubs)
    code_cells = [i for i, c in enumerate(release.cells) if c.cell_type == "code"]

    # nbgrader's server extension (the Validate button calls it) is enabled in this environment
    import nbgrader
    version = _get(base, token, f"nbgrader_version?version={nbgrader.__version__}")
    assert version.get("success"), f"nbgrader's validate server extension: {version}"

    shots: list = []
    console: list = []      # uncaught JavaScript errors, reported (JupyterLab's own are not ours)
    start = time.perf_counter()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.on("pageerror", lambda err: console.append(str(err)))
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            nb = Notebook(page)
            try:
                page.wait_for_function(
                    "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
                    ".jp-Notebook .jp-Cell').length === n", arg=len(release.cells),
                    timeout=SERVER_START_S * 1000)
            except Exception as err:
                _shot(page, "00_not_loaded.png", shots)
                raise AssertionError(f"{NOTEBOOK} did not open with {len(release.cells)} cells; "
                                     f"page errors: {console}; screenshot {shots[-1]}") from err
            validate_button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button")
            assert validate_button.count() == 1, (
                "no Validate button in the notebook toolbar: is nbgrader's JupyterLab extension "
                "enabled (`jupyter labextension list` should show @jupyter/nbgrader enabled)?")

            # 1. Run All on the untouched student version
            nb.run_all(setup)
            assert not nb.errors(setup), f"the setup cell failed:\n{nb.errors(setup)}"
            assert "CPU:" in nb.outputs(setup), f"setup cell printed:\n{nb.outputs(setup)}"
            failing = [i for i in code_cells if nb.errors(i)]
            assert failing, "Run All on the stub notebook showed no error at all"
            first = failing[0]
            first_error = nb.errors(first)
            assert first > min(stubs.values()), \
                f"cell {first} failed before any solution cell was used:\n{first_error}"
            assert "NotImplementedError" in first_error and STUB_MESSAGE in first_error, (
                f"the first failing cell ({first}) does not show the stub's NotImplementedError "
                f"with its message:\n{first_error}")
            _shot(page, "01_stub_run_all.png", shots, nb.cell(first))

            # 2. Run All stops at that error; the student goes on cell by cell (Ctrl+Enter):
            # every visible test cell reports an error naming its function and the stub's
            for i in code_cells:
                if i > first:
                    nb.run_cell(i)
            for grade_id, i in tests.items():
                shown = nb.errors(i)
                fn = _function_of(grade_id, functions)
                assert shown, f"test cell {grade_id} passed on the stub:\n{nb.outputs(i)}"
                assert fn in shown and "NotImplementedError" in shown, (
                    f"test cell {grade_id} should report an error naming {fn} and "
                    f"NotImplementedError; it shows:\n{shown}")
            _shot(page, "02_stub_tests.png", shots, nb.cell(min(tests.values())))

            # 3. Validate the stub: every graded cell fails
            dialog, kind, text = nb.validate("stub")
            _shot(page, "03_validate_stub.png", shots)
            assert "validation-failed" in kind, f"Validate on the stub reported ({kind}):\n{text}"
            n_failed = text.count("The following cell failed:")
            assert n_failed == len(tests), (
                f"Validate on the stub listed {n_failed} failed cells, expected all "
                f"{len(tests)} graded cells:\n{text}")
            for grade_id, i in tests.items():
                assert release.cells[i].source.splitlines()[0] in text, \
                    f"Validate on the stub does not list {grade_id}:\n{text}"
            assert "NotImplementedError" in text, text
            nb.close_dialog(dialog)

            # 4. type the solutions, Run All: no errors, the checks' ✓ lines
            for grade_id, i in stubs.items():
                nb.type_into(i, solutions[grade_id])
            nb.run_all(setup)
            broken = {i: nb.errors(i) for i in code_cells if nb.errors(i)}
            assert not broken, "errors after the fix:\n" + "\n\n".join(
                f"cell {i}:\n{e}" for i, e in broken.items())
            for grade_id, i in tests.items():
                fn = _function_of(grade_id, functions)
                ticks = [line for line in nb.outputs(i).splitlines()
                         if line.lstrip().startswith(f"✓ {fn}")]
                assert ticks, f"test cell {grade_id} printed no ✓ line for {fn}:\n{nb.outputs(i)}"
            speed = [g for g in tests if g.endswith("_speed")]
            for grade_id in speed:
                out = nb.outputs(tests[grade_id])
                points = re.search(r"→ (\S+) of (\S+) points", out)
                assert points and points[1] == points[2], \
                    f"{grade_id} did not give full points after the fix:\n{out}"
            _shot(page, "04_fixed_run_all.png", shots, nb.cell(min(tests.values())))

            # 5. Validate the fixed notebook: success
            dialog, kind, text = nb.validate("fixed")
            _shot(page, "05_validate_fixed.png", shots)
            assert "validation-success" in kind and \
                "Success! Your notebook passes all the tests." in text, (
                    f"Validate after the fix reported ({kind}):\n{text}")
            nb.close_dialog(dialog)
            saved = nbformat.read(course / "release" / "acceleration" / NOTEBOOK, 4)
            for grade_id, i in stubs.items():
                assert saved.cells[i].source == solutions[grade_id], \
                    f"the saved notebook does not hold the typed solution of {grade_id}"
        finally:
            context.close()
            with capsys.disabled():
                print(f"\nbrowser test: {time.perf_counter() - start:.0f} s in the browser; "
                      "screenshots:")
                for path in shots:
                    print(f"  {path}")
                print(f"  JupyterLab's log: {log_path}")
                for error in console:
                    print(f"  uncaught JavaScript error on the page: {error}")
