// DataAsk prep canvas: the front end of dataask_magics.PrepCanvas (anywidget ESM, no build step).
//
// State comes from the widget's sync=True traitlets (flow, statuses, selected, can_undo,
// can_redo, dataset, preview, profile, schema, relationships, cleaning, step_types).
// Every action is a typed request {type: "request", id, command, ...} answered by one
// {type: "response", id, ok, result | error}; Python validates it (prep/commands.py).
// Text from data is only ever set with textContent (no HTML parsing of data).

const SVG = "http://www.w3.org/2000/svg";
const ENUMS = {
  how: ["inner", "left", "right", "full"],
  combine: ["and", "or"],
  keep: ["first", "last", "none"],
  on_error: ["null", "fail"],
  function: ["count", "count_distinct", "sum", "avg", "min", "max", "median"],
};
const TYPE_LABELS = {
  source: "Source", join: "Join", filter: "Filter", select: "Select columns", hide: "Hide columns",
  rename: "Rename", calculate: "Calculated field", aggregate: "Aggregate", pivot: "Pivot",
  unpivot: "Unpivot", sort: "Sort", deduplicate: "Deduplicate", fill_nulls: "Fill nulls",
  change_type: "Change type", limit: "Limit",
};
// options the engine defaults, shown in the property panel even when a step omits them
const DEFAULTS = {
  join: { how: "inner" },
  filter: { combine: "and" },
  aggregate: { group_by: [], measures: [] },
  deduplicate: { keep: "first" },
  change_type: { on_error: "null" },
};
const NODE_W = 150;
const NODE_H = 64;
const GAP = 46;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function s(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "∅";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toFixed(3).replace(/\.?0+$/, "");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function summary(step) {
  switch (step.type) {
    case "source": return `${step.connection || "?"}.${step.table || "?"}`;
    case "join": {
      const r = step.right || {};
      const on = (step.on || []).map((p) => (Array.isArray(p) ? `${p[0]}=${p[1]}` : String(p))).join(", ");
      return `${step.how || "inner"} ${r.table || "?"}${on ? " on " + on : ""}`;
    }
    case "filter": return (step.conditions || []).map((c) => c.conditions ? "(group)" : `${c.column} ${c.op} ${c.value === undefined || c.value === null ? "" : fmt(c.value)}`).join(` ${step.combine || "and"} `);
    case "calculate": return `${step.name || "?"} = ${step.expression || ""}`;
    case "aggregate": return `by ${(step.group_by || []).join(", ") || "—"}`;
    case "sort": return (step.by || []).map((k) => (typeof k === "string" ? k : `${k.column}${k.descending ? " ↓" : ""}`)).join(", ");
    case "limit": return `${fmt(step.n)} rows`;
    case "select": case "hide": case "unpivot": return (step.columns || []).join(", ");
    case "rename": case "change_type": return Object.entries(step.columns || {}).map(([a, b]) => `${a}→${b}`).join(", ");
    case "pivot": return `${step.columns || "?"} × ${step.function || "sum"}`;
    default: return "";
  }
}

function render({ model, el }) {
  let seq = 0;
  const pending = new Map();
  const ui = { tab: "step", bottom: "preview", message: "", messageKind: "", expanded: {}, columns: {}, exportText: null };

  function request(command, args = {}) {
    const id = ++seq;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      model.send({ type: "request", id, command, ...args });
    }).then((response) => {
      if (!response.ok) notify(response.error ? response.error.message : "Request failed", "error");
      return response;
    });
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "response" || !pending.has(msg.id)) return;
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    resolve(msg);
  }
  model.on("msg:custom", onMessage);

  function notify(text, kind = "info") {
    ui.message = text;
    ui.messageKind = kind;
    const bar = el.querySelector(".da-prep-message");
    if (bar) {
      bar.textContent = text;
      bar.className = `da-prep-message ${kind}`;
    }
  }

  const root = h("div", { class: "da-prep" });
  el.append(root);

  function statusOf(id) {
    return (model.get("statuses") || []).find((st) => st.step_id === id) || null;
  }

  // -- toolbar ---------------------------------------------------------------------------
  function toolbar() {
    const types = (model.get("step_types") || []).filter((t) => t !== "source");
    const select = h("select", { class: "da-prep-add-type", title: "Step type" },
      types.map((t) => h("option", { value: t, text: TYPE_LABELS[t] || t })));
    const flow = model.get("flow") || {};
    const ds = model.get("dataset");
    const nameInput = h("input", { class: "da-prep-name", placeholder: "dataset name", value: (ds && ds.name) || flow.output_name || "" });
    return h("div", { class: "da-prep-toolbar" },
      h("button", { class: "da-prep-undo", title: "Undo", disabled: !model.get("can_undo"), onclick: () => request("undo") }, "↶ Undo"),
      h("button", { class: "da-prep-redo", title: "Redo", disabled: !model.get("can_redo"), onclick: () => request("redo") }, "↷ Redo"),
      h("span", { class: "da-prep-sep" }),
      select,
      h("button", { class: "da-prep-add", disabled: !(flow.steps || []).length, onclick: () => request("new_step", { step_type: select.value }) }, "+ Add step"),
      h("button", { class: "da-prep-suggest", disabled: !(flow.steps || []).length,
        onclick: () => { notify("Looking for join keys…"); request("suggest_joins").then((r) => { if (r.ok) { ui.bottom = "relations"; notify(`${r.result.length} suggested join(s)`); draw(); } }); } }, "Suggest joins"),
      h("span", { class: "da-prep-sep" }),
      nameInput,
      h("button", { class: "da-prep-save", onclick: () => request("save", { name: nameInput.value || null }).then((r) => r.ok && notify(`Saved dataset '${r.result.name}' (version ${r.result.version})`)) }, "Save"),
      h("span", { class: "da-prep-sep" }),
      ["sql", "code", "view"].map((kind) => h("button", { class: `da-prep-export-${kind}`,
        onclick: () => request("export", { kind, view_name: kind === "view" ? (nameInput.value || null) : null })
          .then((r) => { if (r.ok) { ui.exportText = r.result.text; ui.exportView = kind === "view" ? (nameInput.value || null) : undefined; draw(); } }) },
      { sql: "SQL", code: "Python", view: "CREATE VIEW" }[kind])),
      h("span", { class: `da-prep-message ${ui.messageKind}`, text: ui.message }),
    );
  }

  // -- schema browser ----------------------------------------------------------------------
  function schemaBrowser() {
    const list = h("div", { class: "da-prep-schema" }, h("div", { class: "da-prep-heading", text: "Tables" }));
    for (const conn of model.get("schema") || []) {
      const open = ui.expanded[conn.name] !== false;
      list.append(h("div", { class: "da-prep-conn", onclick: () => { ui.expanded[conn.name] = !open; draw(); } },
        `${open ? "▾" : "▸"} ${conn.name}`, h("span", { class: "da-prep-dialect", text: conn.dialect || "" })));
      if (conn.error) list.append(h("div", { class: "da-prep-conn-error", text: conn.error }));
      if (!open) continue;
      for (const table of conn.tables) {
        const key = `${conn.name}.${table}`;
        const row = h("div", { class: "da-prep-table", draggable: "true", title: "Drag onto the canvas to add as source or join",
          dataset: { connection: conn.name, table },
          ondragstart: (ev) => ev.dataTransfer.setData("application/x-dataask-table", JSON.stringify({ connection: conn.name, table })),
        },
        h("span", { class: "da-prep-table-name", text: table, onclick: () => {
          if (ui.columns[key]) { delete ui.columns[key]; draw(); return; }
          request("columns", { connection: conn.name, table }).then((r) => { if (r.ok) { ui.columns[key] = r.result; draw(); } });
        } }),
        h("button", { class: "da-prep-table-add", title: "Add to the flow", onclick: () => request("add_table", { connection: conn.name, table }) }, "+"));
        list.append(row);
        if (ui.columns[key]) {
          list.append(h("div", { class: "da-prep-columns" }, Object.entries(ui.columns[key]).map(([c, t]) =>
            h("div", { class: "da-prep-column" }, h("span", { text: c }), h("span", { class: "da-prep-type", text: t })))));
        }
      }
    }
    return list;
  }

  // -- flow canvas ---------------------------------------------------------------------------
  function canvas() {
    const steps = (model.get("flow") || {}).steps || [];
    const selected = model.get("selected");
    const hasJoin = steps.some((st) => st.type === "join");
    const top = hasJoin ? 92 : 24;
    const width = Math.max(560, 24 + steps.length * (NODE_W + GAP));
    const height = top + NODE_H + 30;
    const wrap = h("div", { class: "da-prep-canvas" });
    const board = h("div", { class: "da-prep-board", style: `width:${width}px;height:${height}px` });
    const svg = s("svg", { class: "da-prep-edges", width, height });
    const defs = s("defs");
    const marker = s("marker", { id: "da-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
    marker.append(s("path", { d: "M0,0 L10,5 L0,10 z", class: "da-prep-arrowhead" }));
    defs.append(marker);
    svg.append(defs);
    board.append(svg);
    steps.forEach((step, i) => {
      const x = 24 + i * (NODE_W + GAP);
      if (i > 0) svg.append(s("line", { x1: x - GAP, y1: top + NODE_H / 2, x2: x - 2, y2: top + NODE_H / 2, class: "da-prep-edge", "marker-end": "url(#da-arrow)" }));
      const st = statusOf(step.id);
      const state = !st ? "unknown" : st.ok ? "ok" : (st.error && st.error.code === "blocked") ? "blocked" : "error";
      if (step.type === "join") {
        const r = step.right || {};
        const side = h("div", { class: "da-prep-side", style: `left:${x}px;top:8px;width:${NODE_W}px`, title: `${r.connection}.${r.table}` },
          h("span", { class: "da-prep-side-conn", text: r.connection || "?" }), h("b", { text: r.table || "?" }));
        board.append(side);
        svg.append(s("line", { x1: x + NODE_W / 2, y1: 8 + 44, x2: x + NODE_W / 2, y2: top - 2, class: "da-prep-edge", "marker-end": "url(#da-arrow)" }));
      }
      const node = h("div", {
        class: `da-prep-node ${state}${step.id === selected ? " selected" : ""}`,
        style: `left:${x}px;top:${top}px;width:${NODE_W}px;height:${NODE_H}px`,
        draggable: i > 0 ? "true" : null,
        dataset: { stepId: step.id, index: String(i) },
        onclick: () => request("select", { step_id: step.id }),
        ondragstart: (ev) => ev.dataTransfer.setData("application/x-dataask-step", step.id),
        ondragover: (ev) => ev.preventDefault(),
        ondrop: (ev) => {
          const moved = ev.dataTransfer.getData("application/x-dataask-step");
          if (moved && moved !== step.id) { ev.preventDefault(); ev.stopPropagation(); request("move_step", { step_id: moved, index: Math.max(1, i) }); }
        },
      },
      h("div", { class: "da-prep-node-head" },
        h("span", { class: "da-prep-node-num", text: String(i + 1) }),
        h("span", { class: "da-prep-node-type", text: step.label || TYPE_LABELS[step.type] || step.type }),
        state === "error" ? h("span", { class: "da-prep-badge error", title: st.error.message, text: "!" })
          : state === "blocked" ? h("span", { class: "da-prep-badge blocked", title: st.error.message, text: "…" })
            : state === "ok" ? h("span", { class: "da-prep-badge ok", text: "✓" }) : null),
      h("div", { class: "da-prep-node-summary", text: summary(step), title: summary(step) }));
      board.append(node);
    });
    if (!steps.length) {
      board.append(h("div", { class: "da-prep-empty", text: "Drag a table from the left onto the canvas to start the flow." }));
    }
    wrap.append(board);
    wrap.addEventListener("dragover", (ev) => ev.preventDefault());
    wrap.addEventListener("drop", (ev) => {
      const data = ev.dataTransfer.getData("application/x-dataask-table");
      if (!data) return;
      ev.preventDefault();
      const { connection, table } = JSON.parse(data);
      request("add_table", { connection, table });
    });
    return wrap;
  }

  // -- property panel ------------------------------------------------------------------------
  function field(step, key, value, columns) {
    const send = (v) => request("update_step", { step_id: step.id, changes: { [key]: v } });
    let input = columns ? structured(step, key, value, columns, send) : null;
    if (input) {
      // a form for the common options (below)
    } else if (ENUMS[key] && typeof value === "string") {
      input = h("select", { onchange: (ev) => send(ev.target.value) }, ENUMS[key].map((o) => h("option", { value: o, selected: o === value, text: o })));
    } else if (typeof value === "boolean") {
      input = h("input", { type: "checkbox", checked: value, onchange: (ev) => send(ev.target.checked) });
    } else if (typeof value === "number") {
      input = h("input", { type: "number", value, onchange: (ev) => send(Number(ev.target.value)) });
    } else if (typeof value === "string") {
      input = h("input", { type: "text", value, onchange: (ev) => send(ev.target.value) });
    } else {
      const area = h("textarea", { rows: Math.min(8, JSON.stringify(value, null, 1).split("\n").length + 1), spellcheck: "false" });
      area.value = JSON.stringify(value, null, 1);
      area.addEventListener("change", () => {
        try { send(JSON.parse(area.value)); area.classList.remove("invalid"); } catch (err) { area.classList.add("invalid"); notify(`Not valid JSON: ${err.message}`, "error"); }
      });
      input = area;
    }
    if (step.type === "calculate" && key === "expression") return expressionField(step, input, send);
    const st = statusOf(step.id);
    const bad = st && st.error && st.error.field && (st.error.field === key || st.error.field.startsWith(key + "[") || st.error.field.startsWith(key + "."));
    return h("div", { class: `da-prep-field${bad ? " invalid" : ""}`, dataset: { field: key } }, h("span", { text: key }), input);
  }

  // -- forms for conditions, measures, sort keys and column lists ----------------------------------
  function vocab(name, fallback) {
    const v = model.get("vocabulary") || {};
    return v[name] || fallback;
  }

  function pick(options, value, onchange, extra = {}) {
    const list = value !== undefined && value !== null && value !== "" && !options.includes(value) ? [value, ...options] : options;
    return h("select", { onchange: (ev) => onchange(ev.target.value), ...extra },
      list.map((o) => h("option", { value: o, selected: o === value, text: o === "" ? "(rows)" : o })));
  }

  function parseValue(text, type) {
    const t = text.trim();
    if (t !== "" && /^(int|float|decimal|uint)/.test(type || "") && !Number.isNaN(Number(t))) return Number(t);
    return text;
  }

  function showValue(value) {
    if (Array.isArray(value)) return value.map((v) => String(v)).join(", ");
    if (value && typeof value === "object") return JSON.stringify(value);
    return value === null || value === undefined ? "" : String(value);
  }

  function structured(step, key, value, columns, send) {
    const names = Object.keys(columns);
    const kind = `${step.type}.${key}`;
    const remove = (list, i) => h("button", { class: "da-prep-x", title: "Remove", onclick: () => send(list.filter((_, j) => j !== i)) }, "×");
    if (kind === "filter.conditions" && Array.isArray(value) && !value.some((c) => c && c.conditions)) {
      const ops = vocab("filter_ops", ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "between", "contains", "starts with", "ends with", "is null", "is not null"]);
      const set = (i, patch) => send(value.map((c, j) => (j === i ? { ...c, ...patch } : c)));
      return h("div", { class: "da-prep-rows" }, value.map((c, i) => {
        const many = c.op === "in" || c.op === "not in" || c.op === "between";
        const valueInput = c.op === "is null" || c.op === "is not null" ? null : h("input", {
          type: "text", class: "da-prep-value", value: showValue(c.value), placeholder: many ? "a, b, c" : "value",
          onchange: (ev) => set(i, { value: many ? ev.target.value.split(",").map((x) => parseValue(x.trim(), columns[c.column])) : parseValue(ev.target.value, columns[c.column]) }),
        });
        return h("div", { class: "da-prep-row da-prep-condition" },
          pick(names, c.column, (v) => set(i, { column: v }), { class: "da-prep-cond-column" }),
          pick(ops, c.op, (v) => set(i, { op: v, value: v === "is null" || v === "is not null" ? null : c.value }), { class: "da-prep-cond-op" }),
          valueInput, remove(value, i));
      }), h("button", { class: "da-prep-more", onclick: () => send([...value, { column: names[0], op: "is not null" }]) }, "+ condition"));
    }
    if (kind === "aggregate.measures" && Array.isArray(value)) {
      const fns = vocab("agg_functions", ["count", "count_distinct", "sum", "avg", "min", "max", "median"]);
      const set = (i, patch) => send(value.map((m, j) => {
        if (j !== i) return m;
        const next = { ...m, ...patch };
        if (next.column === "") delete next.column;
        return next;
      }));
      return h("div", { class: "da-prep-rows" }, value.map((m, i) => h("div", { class: "da-prep-row da-prep-measure" },
        pick(fns, m.function || "count", (v) => set(i, { function: v })),
        pick(["", ...names], m.column || "", (v) => set(i, { column: v })),
        h("input", { type: "text", class: "da-prep-as", placeholder: "as", value: m.as || "", onchange: (ev) => set(i, { as: ev.target.value || undefined }) }),
        remove(value, i))),
      h("button", { class: "da-prep-more", onclick: () => send([...value, { function: "count", as: `count_${value.length + 1}` }]) }, "+ measure"));
    }
    if (kind === "sort.by" && Array.isArray(value)) {
      const keys = value.map((k) => (typeof k === "string" ? { column: k } : k));
      const set = (i, patch) => send(keys.map((k, j) => (j === i ? { ...k, ...patch } : k)));
      return h("div", { class: "da-prep-rows" }, keys.map((k, i) => h("div", { class: "da-prep-row" },
        pick(names, k.column, (v) => set(i, { column: v })),
        h("label", { class: "da-prep-check" }, h("input", { type: "checkbox", checked: !!k.descending, onchange: (ev) => set(i, { descending: ev.target.checked }) }), "descending"),
        remove(keys, i))),
      h("button", { class: "da-prep-more", onclick: () => send([...keys, { column: names[0], descending: false }]) }, "+ sort key"));
    }
    const lists = ["aggregate.group_by", "select.columns", "hide.columns", "deduplicate.columns", "unpivot.columns", "pivot.index"];
    if (lists.includes(kind) && (Array.isArray(value) || value === undefined)) {
      const chosen = value || [];
      return h("div", { class: "da-prep-chips" }, [...chosen.filter((c) => !names.includes(c)), ...names].map((c) => h("button", {
        class: `da-prep-chip${chosen.includes(c) ? " on" : ""}`, "aria-pressed": chosen.includes(c) ? "true" : "false",
        onclick: () => send(chosen.includes(c) ? chosen.filter((x) => x !== c) : [...chosen, c]),
      }, c)));
    }
    return null;
  }

  // a calculated field's expression, with autocomplete (columns of the step's input, then functions)
  function expressionField(step, input, send) {
    const hints = h("div", { class: "da-prep-complete" });
    let timer = null;
    input.setAttribute("autocomplete", "off");
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const prefix = input.value.slice(0, input.selectionStart === null ? input.value.length : input.selectionStart);
        request("complete", { step_id: step.id, prefix }).then((r) => {
          hints.replaceChildren();
          if (!r.ok) return;
          for (const word of r.result.slice(0, 12)) {
            hints.append(h("button", { class: "da-prep-hint", onmousedown: (ev) => {
              ev.preventDefault(); // keep the focus in the input
              const tail = /(\[[^\]]*|[A-Za-z_][A-Za-z0-9_]*)$/.exec(prefix);
              const head = tail ? prefix.slice(0, tail.index) : prefix;
              input.value = head + word + input.value.slice(prefix.length);
              input.focus();
              hints.replaceChildren();
            } }, word));
          }
        });
      }, 150);
    });
    const st = statusOf(step.id);
    const bad = st && st.error && st.error.field === "expression";
    return h("label", { class: `da-prep-field${bad ? " invalid" : ""}`, dataset: { field: "expression" } },
      h("span", { text: "expression" }), input, hints);
  }

  function properties() {
    const steps = (model.get("flow") || {}).steps || [];
    const id = model.get("selected");
    const index = steps.findIndex((st) => st.id === id);
    const panel = h("div", { class: "da-prep-props" });
    if (index < 0) { panel.append(h("p", { class: "da-prep-muted", text: "Select a step to edit it." })); return panel; }
    const step = steps[index];
    const st = statusOf(step.id);
    panel.append(h("div", { class: "da-prep-heading" }, `Step ${index + 1}: ${TYPE_LABELS[step.type] || step.type}`, h("code", { text: step.id })));
    if (st && st.error) panel.append(h("div", { class: `da-prep-error${st.error.code === "blocked" ? " blocked" : ""}`, text: st.error.message }));
    const before = index > 0 ? statusOf(steps[index - 1].id) : null;
    const columns = before && before.ok && before.columns ? before.columns : null;
    for (const [key, value] of Object.entries({ ...(DEFAULTS[step.type] || {}), ...step })) {
      if (key === "id" || key === "type" || key === "ui") continue;
      panel.append(field(step, key, value, columns));
    }
    if (before && before.columns) {
      panel.append(h("div", { class: "da-prep-inputs" }, h("span", { class: "da-prep-muted", text: "Input columns: " }),
        Object.keys(before.columns).map((c) => h("code", { text: c }))));
    }
    panel.append(h("div", { class: "da-prep-actions" },
      h("button", { disabled: index <= 1, title: "Move earlier", onclick: () => request("move_step", { step_id: step.id, index: index - 1 }) }, "◀"),
      h("button", { disabled: index === 0 || index >= steps.length - 1, title: "Move later", onclick: () => request("move_step", { step_id: step.id, index: index + 1 }) }, "▶"),
      h("button", { class: "da-prep-remove", disabled: index === 0 && steps.length > 1, onclick: () => request("remove_step", { step_id: step.id }) }, "Remove"),
      h("button", { class: "da-prep-clean", disabled: !(st && st.ok), onclick: () => { ui.tab = "clean"; request("suggest_cleaning", { step_id: step.id }).then(draw); } }, "Clean…"),
    ));
    return panel;
  }

  // -- profile and cleaning ------------------------------------------------------------------
  function profilePanel() {
    const p = model.get("profile") || {};
    const panel = h("div", { class: "da-prep-profile" });
    if (!p.columns) {
      panel.append(h("button", { class: "da-prep-run-profile", onclick: () => request("profile", { step_id: model.get("selected") }) }, "Profile this step"));
      return panel;
    }
    panel.append(h("div", { class: "da-prep-muted", text: `${fmt(p.rows)} rows profiled${p.sampled ? ` (sample of ${fmt(p.total_rows)})` : ""} · ${p.seconds}s` }));
    for (const c of p.columns) {
      const card = h("div", { class: "da-prep-col-card" },
        h("div", { class: "da-prep-col-title" }, h("b", { text: c.name }), h("span", { class: "da-prep-type", text: c.type })),
        h("div", { class: "da-prep-col-stats", text: `nulls ${fmt(c.nulls)} (${fmt(c.null_pct)}%) · distinct ${fmt(c.distinct)}` }));
      if (c.min !== undefined && c.min !== null) card.append(h("div", { class: "da-prep-col-stats", text: `min ${fmt(c.min)} · max ${fmt(c.max)}${c.mean !== null && c.mean !== undefined ? ` · mean ${fmt(c.mean)}` : ""}` }));
      if (Array.isArray(c.histogram) && c.histogram.length) {
        const most = Math.max(...c.histogram.map((b) => b.count), 1);
        card.append(h("div", { class: "da-prep-hist" }, c.histogram.map((b) => h("span", { style: `height:${Math.max(2, Math.round(28 * b.count / most))}px`, title: `${fmt(b.low)}–${fmt(b.high)}: ${fmt(b.count)}` }))));
      }
      if (Array.isArray(c.top_values) && c.top_values.length) {
        card.append(h("div", { class: "da-prep-top" }, c.top_values.slice(0, 5).map((t) => h("div", { text: `${fmt(t.value)} · ${fmt(t.count)}` }))));
      }
      panel.append(card);
    }
    return panel;
  }

  function cleaningPanel() {
    const items = model.get("cleaning") || [];
    const panel = h("div", { class: "da-prep-cleaning" });
    if (!items.length) panel.append(h("p", { class: "da-prep-muted", text: "No proposals yet: select a step and press Clean…" }));
    for (const item of items) {
      panel.append(h("div", { class: "da-prep-proposal" },
        h("div", {}, h("b", { text: item.column }), ` ${item.kind}`),
        h("div", { class: "da-prep-muted", text: item.reason }),
        h("button", { onclick: () => request("add_step", { step: item.step }) }, "Add step")));
    }
    return panel;
  }

  // -- preview -------------------------------------------------------------------------------
  function previewPanel() {
    const p = model.get("preview") || {};
    const panel = h("div", { class: "da-prep-preview" });
    if (p.ok === false) {
      panel.append(h("div", { class: "da-prep-error preview-error", text: (p.error && p.error.message) || "Preview failed" }));
      return panel;
    }
    if (!p.columns) { panel.append(h("p", { class: "da-prep-muted", text: "No preview yet." })); return panel; }
    const count = p.sampled ? "rows of a sample" : p.row_count === null || p.row_count === undefined ? "row count skipped" : `${fmt(p.row_count)}${p.row_count_capped ? "+" : ""} rows`;
    panel.append(h("div", { class: "da-prep-caption", text: `Step ${p.index + 1} (${p.step_id}, ${p.type}): ${count}, first ${p.rows.length} shown · ${p.seconds}s` }));
    const table = h("table", { class: "da-prep-table-preview" },
      h("thead", {}, h("tr", {}, p.columns.map((c) => h("th", { title: (p.types || {})[c] || "" }, h("div", { text: c }), h("div", { class: "da-prep-type", text: (p.types || {})[c] || "" }))))),
      h("tbody", {}, p.rows.map((row) => h("tr", {}, row.map((v) => h("td", { class: v === null ? "null" : typeof v === "number" ? "num" : "", text: fmt(v) }))))));
    panel.append(h("div", { class: "da-prep-table-wrap" }, table));
    return panel;
  }

  // -- relationship diagram ------------------------------------------------------------------
  function relationsPanel() {
    const rel = model.get("relationships") || { tables: [], joins: [] };
    const panel = h("div", { class: "da-prep-relations" });
    const boxes = {};
    const boxW = 150;
    const gapX = 56;
    const shownColumns = (t) => [...t.keys, ...Object.keys(t.columns || {}).filter((c) => !t.keys.includes(c))].slice(0, 7);
    const tallest = Math.max(1, ...rel.tables.map((t) => shownColumns(t).length));
    const bottom = 20 + 26 + tallest * 15;
    const height = bottom + 56;
    const width = Math.max(360, 20 + rel.tables.length * (boxW + gapX));
    const svg = s("svg", { class: "da-prep-er", width, height });
    rel.tables.forEach((t, i) => {
      const x = 20 + i * (boxW + gapX);
      const y = 20;
      const shown = shownColumns(t);
      boxes[t.key] = { x, y, i, t, shown, h: 26 + shown.length * 15 };
      const g = s("g", { class: `da-prep-er-table${t.suggested ? " suggested" : ""}`, "data-table": t.key });
      g.append(s("rect", { x, y, width: boxW, height: 26 + shown.length * 15, rx: 4 }));
      g.append(s("text", { x: x + 8, y: y + 17, class: "da-prep-er-title" }, `${t.connection}.${t.table}`));
      shown.forEach((c, j) => g.append(s("text", { x: x + 10, y: y + 40 + j * 15, class: t.keys.includes(c) ? "da-prep-er-key" : "da-prep-er-col" }, `${t.keys.includes(c) ? "◆ " : ""}${c}`)));
      svg.append(g);
    });
    let below = 0;
    rel.joins.forEach((j) => {
      const a = boxes[j.from];
      const b = boxes[j.to];
      if (!a || !b) return;
      let d;
      let lx;
      let ly;
      if (Math.abs(a.i - b.i) === 1) { // neighbours: key row to key row, side to side
        const y1 = a.y + 36 + Math.max(0, a.shown.indexOf(j.from_column)) * 15;
        const y2 = b.y + 36 + Math.max(0, b.shown.indexOf(j.to_column)) * 15;
        const [x1, x2] = a.x < b.x ? [a.x + boxW, b.x] : [a.x, b.x + boxW];
        d = `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`;
        lx = (x1 + x2) / 2 - 14;
        ly = Math.min(y1, y2) - 5;
      } else { // farther apart (or the same table): under the boxes, so no box is crossed
        const depth = bottom + 14 + (below++ % 3) * 12;
        const x1 = a.x + boxW / 2 + (a.i === b.i ? -20 : 0);
        const x2 = b.x + boxW / 2 + (a.i === b.i ? 20 : 0);
        d = `M${x1},${a.y + a.h} C${x1},${depth} ${x2},${depth} ${x2},${b.y + b.h}`;
        lx = (x1 + x2) / 2 - 14;
        ly = depth + 4;
      }
      const path = s("path", { d, class: `da-prep-er-join${j.suggested ? " suggested" : ""}`, "stroke-dasharray": j.suggested ? "6 4" : "none" });
      path.append(s("title", {}, `${j.from_column} = ${j.to_column}${j.suggested ? ` (suggested, ${Math.round(100 * j.confidence)}%)` : ` (${j.how}, step ${j.step_id})`}`));
      svg.append(path);
      svg.append(s("text", { x: lx, y: ly, class: "da-prep-er-label" }, j.suggested ? `${Math.round(100 * j.confidence)}%?` : j.how));
    });
    panel.append(h("div", { class: "da-prep-er-wrap" }, svg));
    const suggested = rel.joins.filter((j) => j.suggested);
    if (suggested.length) {
      panel.append(h("div", { class: "da-prep-suggestions" }, suggested.map((j) => h("div", { class: "da-prep-suggestion" },
        h("span", { text: `${j.from}.${j.from_column} = ${j.to}.${j.to_column} (${Math.round(100 * j.confidence)}%)` }),
        h("button", { class: "da-prep-accept", onclick: () => request("accept_join", { index: j.suggestion }) }, "Accept")))));
    }
    if (!rel.tables.length) panel.append(h("p", { class: "da-prep-muted", text: "Tables of the flow and their joins appear here." }));
    return panel;
  }

  function tabs(current, names, onpick) {
    return h("div", { class: "da-prep-tabs" }, Object.entries(names).map(([key, label]) =>
      h("button", { class: `da-prep-tab${key === current ? " active" : ""}`, dataset: { tab: key }, onclick: () => onpick(key) }, label)));
  }

  // "Save as view": only connections saved with --allow-views accept it; the error says how
  function saveViewControls() {
    const replace = h("input", { type: "checkbox", class: "da-prep-view-replace" });
    return h("span", { class: "da-prep-save-view-group" },
      h("button", { class: "da-prep-save-view", onclick: () => request("save_view", { view_name: ui.exportView, replace: replace.checked })
        .then((r) => r.ok && notify(`${r.result.replaced ? "Replaced" : "Created"} view ${r.result.view} in '${r.result.connection}'`)) }, "Save as view"),
      h("label", {}, replace, " replace"));
  }

  function draw() {
    const scrollers = [...root.querySelectorAll(".da-prep-canvas, .da-prep-table-wrap, .da-prep-schema, .da-prep-side-panel")].map((n) => [n.className, n.scrollLeft, n.scrollTop]);
    root.replaceChildren();
    root.append(toolbar());
    if (ui.exportText !== null) {
      root.append(h("div", { class: "da-prep-export" },
        h("pre", { text: ui.exportText }),
        h("button", { onclick: () => navigator.clipboard && navigator.clipboard.writeText(ui.exportText) }, "Copy"),
        ui.exportView !== undefined ? saveViewControls() : null,
        h("button", { onclick: () => { ui.exportText = null; draw(); } }, "Close")));
    }
    const side = h("div", { class: "da-prep-side-panel" },
      tabs(ui.tab, { step: "Step", profile: "Profile", clean: "Clean" }, (key) => {
        ui.tab = key;
        if (key === "profile" && !(model.get("profile") || {}).columns && model.get("selected")) request("profile", { step_id: model.get("selected") });
        draw();
      }),
      ui.tab === "step" ? properties() : ui.tab === "profile" ? profilePanel() : cleaningPanel());
    root.append(h("div", { class: "da-prep-main" }, schemaBrowser(), canvas(), side));
    root.append(h("div", { class: "da-prep-bottom" },
      h("div", { class: "da-prep-bottom-left" }, h("div", { class: "da-prep-heading", text: "Preview" }), previewPanel()),
      h("div", { class: "da-prep-bottom-right" }, h("div", { class: "da-prep-heading", text: "Relationships" }), relationsPanel())));
    for (const [cls, left, top] of scrollers) {
      const node = root.getElementsByClassName(cls.split(" ")[0])[0];
      if (node) { node.scrollLeft = left; node.scrollTop = top; }
    }
  }

  const traits = ["flow", "statuses", "selected", "can_undo", "can_redo", "dataset", "preview", "profile", "schema", "relationships", "cleaning", "vocabulary"];
  let queued = false;
  const redraw = () => {
    if (queued) return;
    queued = true;
    Promise.resolve().then(() => { queued = false; draw(); });
  };
  for (const name of traits) model.on(`change:${name}`, redraw);
  draw();
  return () => {
    for (const name of traits) model.off(`change:${name}`, redraw);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
