"""End to end: dashboards in a real JupyterLab, driven in Debian's Chromium.

A ``jupyter lab`` on 127.0.0.1 with a temporary ``DATAASK_HOME`` holding the demo
connections (``dataask demo --no-lab``) serves the extension built in this working tree
(``jlpm build`` writes ``dataask_jupyter/labextension``; the test puts that folder first on
the lab's extension path). In the DataAsk sidebar the test creates a dashboard from the
Sales template, asks a question, inserts it as a ``%%ask`` cell, pins its chart to the
dashboard, reloads the page and finds dashboard and chart again, restores an earlier
version, opens the gallery, works the folder tree (folder, move, rename, clone, delete
after confirming) and sees a stale save answered by a clear 409. Screenshots of every step
go to ``test-output/e2e/`` (``dash-*.png``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.test_labextension_e2e import (
    BUILT,
    CHROMIUM,
    CHROMIUM_ARGS,
    OUT,
    UI_TIMEOUT,
    _call,
    _require_tools,
    lab_env,
    running_lab,
)

pytestmark = pytest.mark.slow

QUESTION = "revenue by channel"


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory):
    """``jupyter lab`` with the demo connections in the default workspace."""
    _require_tools()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("dash-*.png"):  # once per run: both tests' screenshots stay
        old.unlink()
    tmp = tmp_path_factory.mktemp("lab-dash-e2e")
    if not (BUILT / "package.json").exists():
        pytest.fail(f"No built extension in {BUILT}: run `cd labextension && jlpm build` first.")
    env = lab_env(tmp)
    demo = subprocess.run([sys.executable, "-m", "dataask_jupyter.cli", "demo", "--no-lab", "--dir", str(tmp / "demo")],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp)
    assert demo.returncode == 0, demo.stderr[-3000:]
    with running_lab(tmp, env) as info:
        yield info


@pytest.fixture
def page(demo_lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(demo_lab["tmp"] / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            pg = context.pages[0] if context.pages else context.new_page()
            pg.set_default_timeout(UI_TIMEOUT)
            pg.page_errors = []
            pg.console_errors = []
            pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
            pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
            try:
                yield pg
            finally:
                if getattr(pg, "failed", True):
                    pg.screenshot(path=str(OUT / "dash-zz-failed-last-state.png"))
                    print("page errors:", pg.page_errors, "\nconsole errors:", pg.console_errors[-20:])
        finally:
            context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(OUT / f"dash-{name}.png"))


def api(lab, method: str, path: str, body: dict | None = None):
    status, raw = _call(f"{lab['base']}/dataask/api/{path}", lab["token"], method, body)
    return json.loads(raw) if raw else None


def open_sidebar(page, lab):
    from playwright.sync_api import expect

    page.goto(f"{lab['base']}/lab?token={lab['token']}")
    tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="dataask-sidebar"]')
    expect(tab).to_be_visible(timeout=60_000)
    sidebar = page.locator("#dataask-sidebar")
    page.wait_for_timeout(1000)  # let JupyterLab restore its layout (it may open the sidebar itself)
    for _ in range(3):
        if sidebar.is_visible():
            break
        tab.click()
        page.wait_for_timeout(500)
    expect(sidebar).to_be_visible()
    return sidebar


def collapse_connections(page, sidebar):
    """Give the Dashboards and Ask sections the room (the Connections section folds up)."""
    title = sidebar.locator(".jp-AccordionPanel-title").filter(has_text="Connections")
    if title.get_attribute("aria-expanded") == "true":
        title.click()


def editor_of(page, dash_id: int):
    return page.locator(f'.jp-DataAsk-editor[data-dashboard-id="{dash_id}"]')


def wait_widgets_ran(editor):
    from playwright.sync_api import expect

    expect(editor.locator(".jp-DataAsk-widgetLoading")).to_have_count(0, timeout=60_000)
    expect(editor.locator(".jp-DataAsk-widget .jp-DataAsk-inlineError")).to_have_count(0)


def test_dashboard_from_template_ask_pin_reload_restore(demo_lab, page):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT)
    lab = demo_lab
    sidebar = open_sidebar(page, lab)
    collapse_connections(page, sidebar)
    dashboards = sidebar.locator(".jp-DataAsk-dashboards")
    expect(dashboards.locator("#dataask-workspace-select")).to_contain_text("default")
    expect(dashboards.locator(".jp-DataAsk-empty")).to_contain_text("No dashboards yet")
    shot(page, "01-empty-dashboards")

    # 1. a dashboard from the Sales template (its placeholder mapped to shop_sales)
    dashboards.get_by_role("button", name="New dashboard").click()
    form = dashboards.locator("form.jp-DataAsk-newDashboard")
    expect(form).to_be_visible()
    form.locator('label[data-template="sales"] input').check()
    expect(form.get_by_label("Connection for “sales”")).to_have_value("shop_sales")
    form.get_by_label("Name").fill("E2E Sales")
    shot(page, "02-new-from-template")
    form.get_by_role("button", name="Create").click()
    row = dashboards.locator('.jp-DataAsk-dashboard[data-name="E2E Sales"]')
    expect(row).to_be_visible()
    dash_id = int(row.get_attribute("data-id"))
    doc = api(lab, "GET", f"dashboards/{dash_id}")
    assert doc["template"] == "sales" and doc["version"] == 1 and len(doc["widgets"]) == 7
    editor = editor_of(page, dash_id)
    expect(editor).to_be_visible()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text="E2E Sales")).to_have_count(1)
    wait_widgets_ran(editor)
    expect(editor.locator('.jp-DataAsk-widget[data-kind="metric"]')).to_have_count(4)
    assert re.search(r"\$[\d,]+", editor.locator('.jp-DataAsk-widget[data-kind="metric"]').first.inner_text())
    expect(editor.locator('.jp-DataAsk-widget[data-kind="line"] .vega-embed')).to_be_visible()
    expect(editor.locator('.jp-DataAsk-widget[data-kind="table"] tbody tr').first).to_be_visible()
    shot(page, "03-editor-from-template")

    # opening it again focuses the same tab
    row.click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text="E2E Sales")).to_have_count(1)

    # 2. ask a question in the sidebar: SQL, table and chart
    ask = sidebar.locator(".jp-DataAsk-ask")
    ask.get_by_label(re.compile("Ask a question")).fill("flurb the wibble")
    ask.get_by_role("button", name="Ask", exact=True).click()
    expect(ask.locator(".jp-DataAsk-inlineError")).to_contain_text("wibble", timeout=60_000)
    ask.get_by_label("Connections to ask").select_option("shop_sales")  # ask one database only
    ask.get_by_label(re.compile("Ask a question")).fill(QUESTION)
    ask.get_by_role("button", name="Ask", exact=True).click()
    expect(ask.locator(".jp-DataAsk-sqlText")).to_contain_text("channel", timeout=60_000)
    expect(ask.locator(".jp-DataAsk-table tbody tr")).to_have_count(3)
    expect(ask.locator(".jp-DataAsk-chart .vega-embed")).to_be_visible()
    shot(page, "04-asked")

    # insert it into a notebook as a %%ask cell
    ask.get_by_role("button", name="Insert as cell").click()
    expect(ask.locator(".jp-DataAsk-inlineError")).to_contain_text("Open a notebook first")
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text="Launcher").click()
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(notebook).to_be_visible(timeout=60_000)
    ask.get_by_role("button", name="Insert as cell").click()
    expect(ask.locator(".jp-DataAsk-okNote")).to_contain_text("Inserted a %%ask cell")
    expect(notebook.locator(".jp-Cell").filter(has_text="%%ask")).to_contain_text(QUESTION)
    ask.get_by_role("button", name="Insert SQL cell").click()
    expect(notebook.locator(".jp-Cell").filter(has_text="%%federate")).to_contain_text("shop_sales.orders")
    shot(page, "05-inserted-cell")

    # pin the chart to the dashboard: the open editor refreshes live (WebSocket event)
    ask.get_by_label("Dashboard to pin to").select_option(label="E2E Sales")
    ask.get_by_role("button", name="Pin to dashboard").click()
    expect(ask.locator(".jp-DataAsk-okNote")).to_contain_text("Pinned to “E2E Sales”")
    doc = api(lab, "GET", f"dashboards/{dash_id}")
    assert doc["version"] == 2 and len(doc["widgets"]) == 8
    pinned = doc["widgets"][-1]
    assert pinned["title"] == QUESTION and pinned["kind"] == "bar"
    assert pinned["query"] == {"kind": "sql", "connection": "shop_sales", "sql": pinned["query"]["sql"]}
    assert "data" not in (pinned["spec"] or {}), "a pinned chart stores no rows"
    ask.get_by_role("button", name="Open").click()
    expect(editor).to_have_attribute("data-version", "2", timeout=15_000)
    chart = editor.locator(f'.jp-DataAsk-widget[data-widget-id="{pinned["id"]}"]')
    expect(chart.locator(".vega-embed")).to_be_visible()
    chart.scroll_into_view_if_needed()
    shot(page, "06-pinned-live")

    # 3. reload: the dashboard and the pinned chart are still there
    page.reload()
    sidebar = open_sidebar(page, lab)
    collapse_connections(page, sidebar)
    dashboards = sidebar.locator(".jp-DataAsk-dashboards")
    expect(dashboards.locator(".jp-DataAsk-recent").filter(has_text="E2E Sales")).to_be_visible()
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has_text="E2E Sales")
    expect(tabs).to_have_count(1)  # the open dashboard tab came back with the layout
    dashboards.locator('.jp-DataAsk-dashboard[data-name="E2E Sales"]').click()
    expect(tabs).to_have_count(1)
    editor = editor_of(page, dash_id)
    expect(editor).to_have_attribute("data-version", "2")
    wait_widgets_ran(editor)
    chart = editor.locator(f'.jp-DataAsk-widget[data-widget-id="{pinned["id"]}"]')
    expect(chart).to_contain_text(QUESTION)
    expect(chart.locator(".vega-embed")).to_be_visible()
    chart.scroll_into_view_if_needed()
    shot(page, "07-after-reload")

    # 4. restore version 1 (before the pin): saved as version 3, the pinned chart is gone
    editor.get_by_role("button", name="History").click()
    history = editor.locator('aside[aria-label="Version history"]')
    expect(history.locator(".jp-DataAsk-version")).to_have_count(2)
    expect(history).to_contain_text("Pinned")
    shot(page, "08-history")
    history.get_by_role("button", name="Restore version 1").click()
    expect(editor.locator(".jp-DataAsk-banner")).to_contain_text("Restored version 1 as version 3")
    expect(editor).to_have_attribute("data-version", "3")
    expect(chart).to_have_count(0)
    expect(editor.locator(".jp-DataAsk-widget")).to_have_count(7)
    expect(history.locator(".jp-DataAsk-version")).to_have_count(3)
    doc = api(lab, "GET", f"dashboards/{dash_id}")
    assert doc["version"] == 3 and len(doc["widgets"]) == 7
    shot(page, "09-restored")

    assert not [e for e in page.page_errors if "dataask" in e.lower()], page.page_errors
    page.failed = False


def test_tree_gallery_and_conflict(demo_lab, page):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT)
    lab = demo_lab
    ws = next(w for w in api(lab, "GET", "workspaces")["items"] if w["name"] == "default")
    api(lab, "POST", f"workspaces/{ws['id']}/dashboards", {"name": "Ops board", "template": "blank", "tags": ["ops"]})
    sidebar = open_sidebar(page, lab)
    collapse_connections(page, sidebar)
    dashboards = sidebar.locator(".jp-DataAsk-dashboards")
    expect(dashboards.locator('.jp-DataAsk-dashboard[data-name="Ops board"]')).to_be_visible()

    # search filters the tree; the empty result says what to do
    search = dashboards.get_by_label("Search dashboards")
    search.fill("nothing like this")
    expect(dashboards.locator(".jp-DataAsk-empty")).to_contain_text("No dashboards match")
    dashboards.get_by_role("button", name="Clear search").click()
    search.fill("ops")
    expect(dashboards.locator(".jp-DataAsk-dashboard")).to_have_count(1)
    search.fill("")

    # a folder; move a dashboard into it; rename; clone; delete after confirming
    dashboards.get_by_role("button", name="New folder").click()
    dashboards.get_by_label("Folder name").fill("Team")
    dashboards.get_by_role("button", name="Create folder").click()
    folder = dashboards.locator(".jp-DataAsk-folder").filter(has_text="Team")
    expect(folder).to_be_visible()
    ops = dashboards.locator('.jp-DataAsk-dashboard[data-name="Ops board"]')
    ops.hover()
    ops.get_by_role("button", name="Move dashboard Ops board").click()
    move = dashboards.locator("form.jp-DataAsk-moveForm")
    move.get_by_role("combobox").select_option(label="Team")
    move.get_by_role("button", name="Move").click()
    expect(dashboards.locator('.jp-DataAsk-treeChildren .jp-DataAsk-dashboard[data-name="Ops board"]')).to_be_visible()
    ops.hover()
    ops.get_by_role("button", name="Rename dashboard Ops board").click()
    rename = dashboards.get_by_label("New name of dashboard Ops board")
    rename.fill("Operations")
    rename.press("Enter")
    renamed = dashboards.locator('.jp-DataAsk-dashboard[data-name="Operations"]')
    expect(renamed).to_be_visible()
    renamed.hover()
    renamed.get_by_role("button", name="Clone dashboard Operations").click()
    copy = dashboards.locator('.jp-DataAsk-dashboard[data-name="Operations copy"]')
    expect(copy).to_be_visible()
    shot(page, "10-tree-folder-rename-clone")
    copy.hover()
    copy.get_by_role("button", name="Delete dashboard Operations copy").click()
    confirm = page.locator(".jp-Dialog").filter(has_text="Delete dashboard")
    expect(confirm).to_contain_text("cannot be undone")
    shot(page, "11-confirm-delete")
    confirm.get_by_role("button", name=re.compile("^Delete dashboard")).click()
    expect(copy).to_have_count(0)
    names = {d["name"] for d in api(lab, "GET", f"workspaces/{ws['id']}/dashboards")["items"]}
    assert "Operations" in names and "Operations copy" not in names

    # a subfolder; rename a folder; delete a folder (its content moves up)
    dashboards.get_by_role("button", name="New folder").click()
    dashboards.get_by_label("Folder name").fill("Archive")
    dashboards.get_by_label("Inside").select_option(label="Team")
    dashboards.get_by_role("button", name="Create folder").click()
    archive = dashboards.locator(".jp-DataAsk-treeChildren .jp-DataAsk-folder").filter(has_text="Archive")
    expect(archive).to_be_visible()
    folder.hover()
    folder.get_by_role("button", name="Rename folder Team").click()
    dashboards.get_by_label("New name of folder Team").fill("Ops team")
    dashboards.get_by_label("New name of folder Team").press("Enter")
    expect(dashboards.locator(".jp-DataAsk-folder").filter(has_text="Ops team")).to_be_visible()
    archive.hover()
    archive.get_by_role("button", name="Delete folder Archive").click()
    confirm = page.locator(".jp-Dialog").filter(has_text="Delete folder")
    expect(confirm).to_contain_text("move up one level")
    confirm.get_by_role("button", name=re.compile("^Delete folder")).click()
    expect(archive).to_have_count(0)
    folders = {f["name"]: f for f in api(lab, "GET", f"workspaces/{ws['id']}/folders")["items"]}
    assert set(folders) == {"Ops team"}
    folder = dashboards.locator(".jp-DataAsk-folder").filter(has_text="Ops team")

    # another workspace: created from the sidebar, empty, with its own (no) connections
    dashboards.get_by_role("button", name="New workspace").click()
    dashboards.get_by_label("Workspace name").fill("Second")
    dashboards.get_by_role("button", name="Create workspace").click()
    expect(dashboards.locator("#dataask-workspace-select")).to_have_value(
        str(next(w["id"] for w in api(lab, "GET", "workspaces")["items"] if w["name"] == "Second")))
    expect(dashboards.locator(".jp-DataAsk-empty")).to_contain_text("No dashboards yet")
    conn_title = sidebar.locator(".jp-AccordionPanel-title").filter(has_text="Connections")
    conn_title.click()
    expect(sidebar.locator("#dataask-connections-section .jp-DataAsk-empty")).to_contain_text("No connections yet")
    shot(page, "11b-second-workspace")
    conn_title.click()
    dashboards.locator("#dataask-workspace-select").select_option(str(ws["id"]))
    expect(dashboards.locator('.jp-DataAsk-dashboard[data-name="Operations"]')).to_be_visible()

    # keyboard: the tree is reachable from the search box with the arrow keys
    search.focus()
    page.keyboard.press("ArrowDown")
    expect(dashboards.locator('[role="treeitem"]').first).to_be_focused()

    # the quick switcher (Ctrl+K) finds dashboards too and opens one in its tab
    page.locator("#jp-main-dock-panel").click()
    page.keyboard.press("Control+k")
    dialog = page.locator(".jp-DataAsk-switcherDialog")
    expect(dialog).to_be_visible()
    dialog.locator("input").fill("opertns")
    option = dialog.get_by_role("option")
    expect(option.first).to_contain_text("Operations")
    page.keyboard.press("Enter")
    operations = next(d for d in api(lab, "GET", f"workspaces/{ws['id']}/dashboards")["items"]
                      if d["name"] == "Operations")
    expect(editor_of(page, operations["id"])).to_be_visible()
    expect(editor_of(page, operations["id"]).locator(".jp-DataAsk-empty")).to_contain_text("no widgets yet")

    # the gallery: thumbnails drawn from the widgets, same filter as the tree
    dashboards.get_by_role("button", name="Gallery").click()
    gallery = page.locator(".jp-DataAsk-gallery")
    expect(gallery).to_be_visible()
    sales = next((d for d in api(lab, "GET", f"workspaces/{ws['id']}/dashboards")["items"] if d["name"] == "E2E Sales"),
                 None) or api(lab, "POST", f"workspaces/{ws['id']}/dashboards", {"name": "E2E Sales", "template": "sales"})
    card = gallery.locator(f'.jp-DataAsk-galleryCard[data-id="{sales["id"]}"]')
    expect(card.locator("svg.jp-DataAsk-thumb rect.jp-DataAsk-thumbCard")).to_have_count(7)
    shot(page, "12-gallery")
    gallery.get_by_label("Search dashboards in the gallery").fill("operations")
    expect(gallery.locator(".jp-DataAsk-galleryCard")).to_have_count(1)
    expect(search).to_have_value("operations")  # one filter for tree and gallery
    gallery.get_by_label("Search dashboards in the gallery").fill("")

    # a thumbnail refreshes when the dashboard is saved elsewhere
    widget = {"kind": "text", "title": "Note", "options": {"text": "hello"}, "position": {"x": 0, "y": 20, "w": 4, "h": 2}}
    api(lab, "POST", f"dashboards/{sales['id']}/widgets", {**widget, "version": sales["version"]})
    expect(card.locator("svg.jp-DataAsk-thumb rect.jp-DataAsk-thumbCard")).to_have_count(8, timeout=15_000)

    # a stale save: someone saves while this tab has unsaved edits -> a clear 409
    card.click()
    editor = editor_of(page, sales["id"])
    wait_widgets_ran(editor)
    first = editor.locator('.jp-DataAsk-widget[data-kind="metric"]').first
    first.focus()
    page.keyboard.press("Shift+ArrowRight")  # resize by keyboard: unsaved change
    expect(editor.locator(".jp-DataAsk-dirty")).to_be_visible()
    current = api(lab, "GET", f"dashboards/{sales['id']}")
    api(lab, "PATCH", f"dashboards/{sales['id']}", {"version": current["version"], "description": "changed elsewhere",
                                                  "message": "someone else"})
    expect(editor.locator('.jp-DataAsk-banner[data-kind="remote"]')).to_be_visible(timeout=15_000)
    editor.get_by_role("button", name="Save…").click()
    editor.get_by_label(re.compile("What changed")).fill("wider revenue card")
    editor.get_by_role("button", name="Save version").click()
    banner = editor.locator('.jp-DataAsk-banner[data-kind="conflict"]')
    expect(banner).to_contain_text("Someone else saved this dashboard")
    shot(page, "13-conflict-409")
    banner.get_by_role("button", name="Reload").click()
    expect(editor).to_have_attribute("data-version", str(current["version"] + 1))
    expect(editor.locator(".jp-DataAsk-dirty")).to_have_count(0)

    # drag to resize with the mouse, then move by dragging the title bar; save with a message
    wait_widgets_ran(editor)
    revenue = editor.locator('.jp-DataAsk-widget[data-kind="metric"]').filter(has_text="Revenue")
    before = revenue.bounding_box()
    handle = revenue.locator(".jp-DataAsk-resizeHandle").bounding_box()
    cell = before["width"] / 3  # the Revenue card is 3 columns wide
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    page.mouse.move(handle["x"] + 5 + cell * 2, handle["y"] + 5 + 20, steps=8)
    page.mouse.up()
    expect(revenue).to_have_attribute("style", re.compile(r"grid-area: 1 / 1 / span 2 / span 5"))
    title = revenue.locator(".jp-DataAsk-widgetHeader").bounding_box()
    page.mouse.move(title["x"] + 40, title["y"] + 10)
    page.mouse.down()
    page.mouse.move(title["x"] + 40 + cell * 2, title["y"] + 10, steps=8)
    page.mouse.up()
    expect(revenue).to_have_attribute("style", re.compile(r"grid-area: 1 / 3 / span 2 / span 5"))
    shot(page, "14-dragged-resized")
    editor.get_by_role("button", name="Save…").click()
    editor.get_by_label(re.compile("What changed")).fill("bigger revenue card")
    editor.get_by_role("button", name="Save version").click()
    expect(editor.locator(".jp-DataAsk-banner")).to_contain_text("Saved as version")
    saved = api(lab, "GET", f"dashboards/{sales['id']}")
    card_pos = next(w["position"] for w in saved["widgets"] if w["title"] == "Revenue")
    assert card_pos["x"] == 2 and card_pos["w"] == 5, card_pos
    assert api(lab, "GET", f"dashboards/{sales['id']}/versions")["items"][0]["message"] == "bigger revenue card"

    # edit a widget's title, chart type and query, then save: the widget runs the new query
    pie = editor.locator('.jp-DataAsk-widget[data-kind="pie"]')
    pie.get_by_role("button", name="Edit widget Revenue by channel").click()
    panel = editor.locator('aside[aria-label="Edit widget"]')
    panel.get_by_label("Title").fill("Orders by channel")
    panel.get_by_label("Chart type").select_option("bar")
    sql = panel.get_by_label(re.compile("^Query"))
    sql.fill("SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel ORDER BY orders DESC")
    panel.get_by_role("button", name="Apply").click()
    edited = editor.locator(".jp-DataAsk-widget").filter(has_text="Orders by channel")
    expect(edited).to_have_attribute("data-kind", "bar")
    expect(edited).to_contain_text("edited")
    editor.get_by_role("button", name="Save…").click()
    editor.get_by_label(re.compile("What changed")).fill("orders per channel")
    editor.get_by_role("button", name="Save version").click()
    expect(editor.locator(".jp-DataAsk-banner")).to_contain_text("Saved as version")
    expect(edited).not_to_contain_text("edited")
    expect(edited.locator(".vega-embed")).to_be_visible()
    saved = api(lab, "GET", f"dashboards/{sales['id']}")
    w = next(w for w in saved["widgets"] if w["title"] == "Orders by channel")
    assert w["kind"] == "bar" and "COUNT(*)" in w["query"]["sql"]
    wid = w["id"]
    run = api(lab, "POST", f"dashboards/{sales['id']}/widgets/{wid}/run", {})
    assert run["columns"] == ["channel", "orders"] and sum(r[1] for r in run["rows"]) > 0
    shot(page, "15-widget-edited")

    # the same editor in JupyterLab's dark theme
    page.locator(".lm-MenuBar-itemLabel").filter(has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile("^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile("^JupyterLab Dark$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=30_000)
    page.wait_for_timeout(1500)
    shot(page, "16-dark-theme")

    assert not [e for e in page.page_errors if "dataask" in e.lower()], page.page_errors
    page.failed = False
