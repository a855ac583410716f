"""The prep canvas rendered in Debian's headless Chromium, talking to a real PrepCanvas.

A static page loads the widget's ESM (``static/prep_canvas.js``) with a small stand-in for
anywidget's ``model`` (get/set/on/off/send/save_changes). ``send`` posts each request to an
``http.server`` on 127.0.0.1 that hands it to a real :class:`dataask_magics.PrepCanvas`
(``PrepCanvas.handle``) over the demo data and returns the response plus the widget's new
synced state, which the page applies as ``change:<trait>`` events, as the Jupyter comm does.
The test clicks, drags and checks nodes, the error badge of a bad step, the 100-row preview
of an earlier step, undo/redo and the relationship diagram; screenshots go to
``test-output/prep/``.

When the ``playwright`` package or ``/usr/bin/chromium`` is missing the test fails under CI
and is skipped with the fix otherwise. Never run ``playwright install``: the browser is Debian's.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.services import unavailable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output" / "prep"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
UI_TIMEOUT = 30_000  # ms
ORDERS = {"type": "source", "connection": "shop_sales", "table": "orders"}
FLOW = {"steps": [ORDERS,
                  {"type": "filter", "conditions": [{"column": "status", "op": "=", "value": "completed"}]},
                  {"type": "calculate", "name": "net", "expression": "amout * 0.8"}],
        "output_name": "completed_orders"}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>prep canvas</title>
<link rel="stylesheet" href="/prep_canvas.css"></head>
<body style="margin:12px;background:#fff">
<div id="root"></div>
<script type="module">
import widget from "/prep_canvas.js";
const state = await (await fetch("/state")).json();
const listeners = {};
const emit = (event, ...args) => (listeners[event] || []).slice().forEach((f) => f(...args));
window.__requests = 0;
const model = {
  get: (key) => state[key],
  set: (key, value) => { state[key] = value; },
  save_changes: () => {},
  on: (event, fn) => { (listeners[event] ||= []).push(fn); },
  off: (event, fn) => { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  send: async (msg) => {
    const reply = await fetch("/request", { method: "POST", headers: { "Content-Type": "application/json" },
                                            body: JSON.stringify(msg) });
    const { response, state: next } = await reply.json();
    for (const [key, value] of Object.entries(next)) {
      if (JSON.stringify(state[key]) !== JSON.stringify(value)) { state[key] = value; emit(`change:${key}`); }
    }
    emit("msg:custom", response, []);
    window.__requests += 1;
  },
};
widget.render({ model, el: document.getElementById("root") });
window.__ready = true;
</script></body></html>
"""


def _require_tools() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("The `playwright` package is missing: pip install -e '.[test]' (never `playwright install`).")
    if not CHROMIUM.exists():
        unavailable("Debian's Chromium is missing: apt-get install chromium (.ci/run does).")


def _synced_state(widget) -> dict:
    names = widget.class_trait_names(sync=True)
    state = widget.get_state()
    return {k: state[k] for k in names if not k.startswith("_") and k in state}


def _serve(widget):
    from dataask_magics import prep_canvas

    files = {"/prep_canvas.js": (prep_canvas.STATIC / "prep_canvas.js", "text/javascript"),
             "/prep_canvas.css": (prep_canvas.STATIC / "prep_canvas.css", "text/css")}
    log: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, body: bytes, kind: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - http.server hook
            if self.path == "/":
                self._reply(PAGE.encode(), "text/html; charset=utf-8")
            elif self.path in files:
                path, kind = files[self.path]
                self._reply(path.read_bytes(), kind)
            elif self.path == "/favicon.ico":
                self._reply(b"", "image/x-icon")
            elif self.path == "/state":
                self._reply(json.dumps(_synced_state(widget)).encode(), "application/json")
            else:
                self._reply(b"not found", "text/plain", 404)

        def do_POST(self):  # noqa: N802 - http.server hook
            if self.path != "/request":
                self._reply(b"not found", "text/plain", 404)
                return
            message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            response = widget.handle(message)
            log.append({"request": message, "response": response})
            self._reply(json.dumps({"response": response, "state": _synced_state(widget)}).encode(),
                        "application/json")

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)  # one request at a time, like a kernel
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, log


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    from dataask_magics import PrepCanvas

    from dataask_jupyter.config import Settings
    from dataask_jupyter.core import DataAsk
    from dataask_jupyter.demo import build_demo

    root = tmp_path_factory.mktemp("prep_browser")
    da = DataAsk(Settings(home=root / "home"))
    for name, url in build_demo(root / "demo", include_vega=False).items():
        da.connect(name, url)
    widget = PrepCanvas(FLOW, dataask=da)
    server, log = _serve(widget)
    yield widget, f"http://127.0.0.1:{server.server_address[1]}/", log
    server.shutdown()
    widget.close()
    da.close()


def test_canvas_renders_nodes_preview_error_badge_and_diagram(canvas):
    _require_tools()
    from playwright.sync_api import expect, sync_playwright

    widget, url, log = canvas
    OUT.mkdir(parents=True, exist_ok=True)
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("window.__ready === true", timeout=UI_TIMEOUT)

            nodes = page.locator(".da-prep-node")
            expect(nodes).to_have_count(3, timeout=UI_TIMEOUT)
            bad = page.locator('.da-prep-node[data-step-id="s3"]')
            expect(bad).to_have_class("da-prep-node error selected")
            expect(bad.locator(".da-prep-badge.error")).to_have_count(1)
            assert "Did you mean 'amount'" in bad.locator(".da-prep-badge.error").get_attribute("title")
            expect(page.locator(".da-prep-node.ok")).to_have_count(2)
            # the selected bad step's preview shows its error; its field is marked in the panel
            expect(page.locator(".da-prep-preview .preview-error")).to_contain_text("Unknown column 'amout'")
            expect(page.locator('.da-prep-field.invalid[data-field="expression"]')).to_have_count(1)
            page.screenshot(path=str(OUT / "prep_canvas_bad_step.png"), full_page=True)

            # an earlier step still previews: 100 rows of 5,301
            page.locator('.da-prep-node[data-step-id="s2"]').click()
            rows = page.locator(".da-prep-table-preview tbody tr")
            expect(rows).to_have_count(100, timeout=UI_TIMEOUT)
            expect(page.locator(".da-prep-caption")).to_contain_text("5,301 rows")
            headers = page.locator(".da-prep-table-preview thead th > div:first-child").all_inner_texts()
            assert headers == ["id", "customer_id", "order_date", "status", "channel", "amount"]
            assert set(page.locator(".da-prep-table-preview tbody tr td:nth-child(4)").all_inner_texts()) == {"completed"}

            # the filter's form: change its operator, the preview follows; undo restores it
            condition = page.locator(".da-prep-condition")
            expect(condition).to_have_count(1)
            assert condition.locator(".da-prep-cond-column").input_value() == "status"
            condition.locator(".da-prep-cond-op").select_option("!=")
            expect(page.locator(".da-prep-caption")).to_contain_text("713 rows", timeout=UI_TIMEOUT)
            assert "completed" not in page.locator(".da-prep-table-preview tbody tr td:nth-child(4)").all_inner_texts()
            page.locator(".da-prep-undo").click()
            expect(page.locator(".da-prep-caption")).to_contain_text("5,301 rows", timeout=UI_TIMEOUT)

            # fix the bad step in the property panel: the badge turns ok
            # (with autocomplete: columns of the step's input)
            page.locator('.da-prep-node[data-step-id="s3"]').click()
            area = page.locator('.da-prep-field[data-field="expression"] input')
            area.fill("")
            area.press_sequentially("amo")
            hint = page.locator(".da-prep-hint", has_text="amount")
            expect(hint).to_have_count(1, timeout=UI_TIMEOUT)
            hint.click()
            assert area.input_value() == "amount"
            area.press_sequentially(" * 0.8")
            area.press("Enter")
            area.blur()
            expect(page.locator('.da-prep-node[data-step-id="s3"] .da-prep-badge.ok')).to_have_count(1, timeout=UI_TIMEOUT)
            expect(page.locator(".da-prep-table-preview thead th").last).to_contain_text("net")

            # drag a table from the schema browser onto the canvas: a join on the suggested key
            page.locator('.da-prep-table[data-connection="shop_crm"][data-table="customers"]').drag_to(
                page.locator(".da-prep-canvas"))
            expect(nodes).to_have_count(4, timeout=UI_TIMEOUT)
            expect(page.locator('.da-prep-node[data-step-id="s4"]')).to_contain_text("customers on customer_id=id")
            expect(page.locator(".da-prep-side")).to_have_count(1)
            assert widget.preview["ok"], widget.preview  # a cross-database preview (federation)
            expect(page.locator(".da-prep-table-preview thead th", has_text="region")).to_have_count(1)
            expect(page.locator(".da-prep-er-table")).to_have_count(2)
            expect(page.locator(".da-prep-er-join:not(.suggested)")).to_have_count(1)

            # undo / redo through the toolbar
            page.locator(".da-prep-undo").click()
            expect(nodes).to_have_count(3, timeout=UI_TIMEOUT)
            page.locator(".da-prep-redo").click()
            expect(nodes).to_have_count(4, timeout=UI_TIMEOUT)
            expect(page.locator(".da-prep-redo")).to_be_disabled()

            # suggested joins are drawn dashed until accepted
            page.locator(".da-prep-suggest").click()
            dashed = page.locator(".da-prep-er-join.suggested")
            expect(dashed.first).to_be_visible(timeout=UI_TIMEOUT)
            assert dashed.first.get_attribute("stroke-dasharray") == "6 4"
            expect(page.locator(".da-prep-accept").first).to_be_visible()

            # a bad edit again, for the screenshot of the whole canvas: an error badge, the
            # steps before it previewing
            page.locator('.da-prep-node[data-step-id="s3"]').click()
            area = page.locator('.da-prep-field[data-field="expression"] input')
            area.fill("amout * 0.8")
            area.press("Enter")
            area.blur()
            expect(page.locator('.da-prep-node[data-step-id="s3"] .da-prep-badge.error')).to_have_count(1, timeout=UI_TIMEOUT)
            expect(page.locator('.da-prep-node[data-step-id="s4"].blocked')).to_have_count(1)
            page.locator('.da-prep-node[data-step-id="s2"]').click()
            expect(rows).to_have_count(100, timeout=UI_TIMEOUT)
            page.screenshot(path=str(OUT / "prep_canvas.png"), full_page=True)
        finally:
            browser.close()

    assert not console_errors, console_errors
    failed = [e for e in log if not e["response"]["ok"]]
    assert not failed, failed
    commands = [e["request"]["command"] for e in log]
    assert {"select", "update_step", "add_table", "undo", "redo", "suggest_joins", "complete"} <= set(commands)
    assert [s["id"] for s in widget.flow["steps"]] == ["s1", "s2", "s3", "s4"]
    assert (OUT / "prep_canvas.png").stat().st_size > 10_000
