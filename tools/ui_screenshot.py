"""Screenshot the global asset lineage page of the Dagster UI over the demo's data.

    make ui-screenshot                  # or: .venv/bin/python tools/ui_screenshot.py [--out PNG]

Runs `icon-etl demo` first when $DAGSTER_HOME ($ICON_HOME/dagster_home) has no run history yet,
starts the real
`dagster-webserver -w workspace.yaml` on 127.0.0.1 and a free port (with the same ICON_* settings
as `make ui`), opens /asset-groups in headless Chromium driven by Playwright, waits until the
asset graph has rendered in full detail, and saves docs/img/lineage.png; then the checks of
idb/ETL_COVERAGE (docs/img/checks.png) and the plotted figures of reports/kpi
(docs/img/report_plots.png). The `idb` group (one
asset per IDB table, three dozen) is left collapsed so that the ICON flow stays legible; the
other groups are expanded, the flow drawn top to bottom.

Chromium is the system one (`apt-get install -y chromium`; or --chromium PATH / $CHROMIUM):
Playwright's own browser download is never used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "img" / "lineage.png"
# groups drawn open, in flow order; `idb` stays a single box ("N assets")
EXPANDED_GROUPS = ["raw_logs", "parsed_events", "ha_reconciliation", "idb_by_role", "reports"]
BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]


def _log(msg: str) -> None:
    print(f"ui-screenshot: {msg}", file=sys.stderr, flush=True)


def icon_env() -> dict[str, str]:
    """The environment of `make ui`: ICON_HOME (default ./var), its dagster_home, the demo's logs."""
    env = dict(os.environ)
    home = Path(env.get("ICON_HOME") or ROOT / "var").absolute()
    env["ICON_HOME"] = str(home)
    env.setdefault("DAGSTER_HOME", str(home / "dagster_home"))
    return env


def ensure_demo(env: dict[str, str]) -> None:
    """Run `icon-etl demo` when the Dagster instance has no run history yet."""
    if (Path(env["DAGSTER_HOME"]) / "history").exists():
        return
    _log(f"no Dagster instance at {env['DAGSTER_HOME']}: running `icon-etl demo` first")
    proc = subprocess.run([sys.executable, "-m", "dagster_project.cli", "demo"], cwd=ROOT, env=env)
    if proc.returncode:
        sys.exit(f"ui-screenshot: `icon-etl demo` failed ({proc.returncode})")


def server_env(env: dict[str, str]) -> dict[str, str]:
    home = Path(env["ICON_HOME"])
    env = dict(env)
    env.setdefault("ICON_LOG_DIR", str(home / "demo" / "logs"))
    env.setdefault("ICON_CONFIG_SNAPSHOT", str(home / "demo" / "config.json"))
    options = ROOT / "examples" / "icon-options.toml"
    if options.exists():
        env.setdefault("ICON_OPTIONS", str(options))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str, timeout: float = 10) -> dict:
    req = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def start_webserver(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """dagster-webserver on 127.0.0.1 and a free port, in its own process group (see `stop`)."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def wait_until_loaded(proc: subprocess.Popen, base: str, log: Path, timeout: float = 90) -> None:
    """Until the server answers and its code location has loaded; RuntimeError with its log if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited ({proc.returncode}):\n"
                               f"{log.read_text(errors='replace')[-4000:]}")
        try:
            entries = graphql(base, LOCATIONS, timeout=5)["data"]["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, OSError, KeyError, TypeError, ValueError):
            entries = None
        if entries:
            for e in entries:
                if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError":
                    raise RuntimeError(f"code location {e['name']} failed to load: "
                                       f"{e['locationOrLoadError']['message']}")
            if all(e["loadStatus"] == "LOADED" for e in entries):
                return
        time.sleep(0.5)
    raise RuntimeError(f"dagster-webserver did not answer on {base} within {timeout:.0f}s:\n"
                       f"{log.read_text(errors='replace')[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the webserver's process group (it and its code server), SIGKILL if it hangs."""
    if proc.poll() is not None:   # gone already; a code server it left in the group goes too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def find_chromium(explicit: str | None) -> str:
    for name in [explicit, os.environ.get("CHROMIUM"), *BROWSERS]:
        if name and (path := shutil.which(name)):
            return path
    sys.exit("ui-screenshot: no Chromium found: `apt-get install -y chromium`, or pass "
             "--chromium PATH (or set CHROMIUM)")


@contextmanager
def browser_page(chromium: str, width: int, height: int, scale: float, timeout_ms: int):
    """A page of headless Chromium with the UI's own preferences set: no "join the community"
    dialog, the app's navigation collapsed, asset graphs drawn top to bottom."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("ui-screenshot: the playwright package is missing: `pip install -e '.[dev]'`")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          device_scale_factor=scale)
            context.add_init_script(
                "window.localStorage.setItem('communityNux', 'true');"
                "window.localStorage.setItem('dagster-nav-collapsed', 'true');"
                "window.localStorage.setItem('asset-graph-direction', '\"vertical\"');")
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()


def screenshot(base: str, out: Path, chromium: str, width: int, scale: float,
               timeout_ms: int = 60_000) -> None:
    expanded = ",".join(f"global@global:{g}" for g in EXPANDED_GROUPS)
    url = f"{base}/asset-groups?expanded={quote(expanded, safe=',@:')}"
    with browser_page(chromium, width, 1000, scale, timeout_ms) as page:
        _log(f"opening {url}")
        page.goto(url, wait_until="networkidle")
        page.get_by_text("log_segments", exact=True).first.wait_for(state="visible")
        # the whole canvas for the graph: hide the asset tree beside it
        page.locator("button:has([aria-label='panel_show_right'])").first.click()
        page.wait_for_timeout(300)
        # a page as tall as the graph at the width's zoom (the UI fits the width), plus room
        # for the toolbar floating over the top of the canvas
        box = page.evaluate(_GRAPH_BOX)
        toolbar = page.get_by_text("Materialize all", exact=False).first.bounding_box()
        overlap = max(0.0, toolbar["y"] + toolbar["height"] + 12 - box["top"])
        fitted = box["graphHeight"] * min(1.0, box["width"] / box["graphWidth"])
        page.set_viewport_size({"width": width, "height": int(box["top"] + fitted + 2 * overlap)})
        page.wait_for_timeout(300)
        # a double click on the background fits the graph again (the UI's "autocenter")
        page.evaluate(_AUTOCENTER)
        page.wait_for_timeout(1000)   # the zoom animation
        # rendered: nodes in full detail (not the zoomed-out outline), statuses loaded
        for text in ("log_segments", "reconciled_events", "gcc", "idb"):
            page.get_by_text(text, exact=True).first.wait_for(state="visible")
        page.get_by_text("Latest event").first.wait_for(state="visible")
        page.wait_for_function("() => !document.body.innerText.includes('fetching statuses')")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        # end the page below the lowest box drawn (the layout leaves blank space under it;
        # the graph keeps its place when the page gets shorter)
        bottom = page.evaluate(_DRAWN_BOTTOM)
        if bottom + 24 < page.viewport_size["height"]:
            page.set_viewport_size({"width": width, "height": int(bottom + 24)})
            page.wait_for_timeout(500)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))


_VIEWPORT = "document.querySelector('#zoom-slider-container').parentElement"
_GRAPH_BOX = f"""() => {{
    const el = {_VIEWPORT}, r = el.getBoundingClientRect(), svg = el.querySelector('svg[width]');
    return {{top: r.top, width: r.width, graphWidth: +svg.getAttribute('width'),
             graphHeight: +svg.getAttribute('height')}};
}}"""
_DRAWN_BOTTOM = f"""() => Math.max(...[...{_VIEWPORT}.querySelectorAll('svg[width] foreignObject')]
    .map(o => o.getBoundingClientRect().bottom))"""
_AUTOCENTER = f"() => {_VIEWPORT}.dispatchEvent(new MouseEvent('dblclick', {{bubbles: true}}))"


# asset pages shot after the lineage: (file in docs/img, path, text that shows it has loaded,
# buttons clicked then, in order)
PAGES = [("checks.png", "/assets/idb/ETL_COVERAGE?view=checks", "coverage_gaps", []),
         # the report's figures of each hour, plotted by time (its observations)
         ("report_plots.png", "/assets/reports/kpi", "Metadata",
          ["button:has-text('Plots')", "button:has-text('Events') >> nth=-1"])]


def page_shots(base: str, folder: Path, chromium: str, width: int, scale: float,
               timeout_ms: int = 60_000) -> None:
    """The asset pages of PAGES, each as it looks once its text is there."""
    with browser_page(chromium, width, 900, scale, timeout_ms) as page:
        for name, path, text, clicks in PAGES:
            _log(f"opening {base}{path}")
            page.goto(f"{base}{path}", wait_until="networkidle")
            page.get_by_text(text).first.wait_for(state="visible")
            for button in clicks:
                page.locator(button).first.click()
                page.wait_for_timeout(1000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(folder / name), full_page=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--chromium", help="Chromium executable (default: $CHROMIUM or on PATH)")
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    args = p.parse_args(argv)

    chromium = find_chromium(args.chromium)
    env = icon_env()
    ensure_demo(env)
    env = server_env(env)
    log = Path(env["ICON_HOME"]) / "ui-screenshot-webserver.log"
    _log(f"starting dagster-webserver (DAGSTER_HOME={env['DAGSTER_HOME']}, log {log})")
    proc, base = start_webserver(env, log)
    try:
        wait_until_loaded(proc, base, log)
        screenshot(base, args.out.absolute(), chromium, args.width, args.scale)
        page_shots(base, args.out.absolute().parent, chromium, args.width, args.scale)
    except RuntimeError as exc:
        _log(str(exc))
        return 1
    finally:
        stop(proc)
    _log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
