/**
 * Pure model logic of dashboards: the folder tree with search, recents, the grid layout
 * (move, resize, collisions), charts built from query rows, metric formatting, pinning an
 * answer as a widget and the notebook cell of an answer. No DOM, no JupyterLab imports.
 */

import type {
  IAskResult,
  IDashboardSummary,
  IFolder,
  IGridPos,
  ILayout,
  IRecent,
  ITheme,
  IWidget,
  WidgetKind
} from './types';

// ---------------------------------------------------------------- search and tree

/** The search box and tag filter shared by the tree and the gallery. */
export interface IDashboardFilter {
  text: string;
  tag: string | null;
}

export const NO_FILTER: IDashboardFilter = { text: '', tag: null };

/** True when the filter hides nothing. */
export function isEmptyFilter(f: IDashboardFilter): boolean {
  return !f.text.trim() && !f.tag;
}

/** Whether a dashboard matches: every word of the text in its name, description or tags. */
export function matchesFilter(
  d: Pick<IDashboardSummary, 'name' | 'description' | 'tags'>,
  f: IDashboardFilter
): boolean {
  if (f.tag && !d.tags.includes(f.tag)) {
    return false;
  }
  const hay = [d.name, d.description, ...d.tags].join(' ').toLowerCase();
  return f.text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every(word => hay.includes(word));
}

/** Every tag in use, sorted. */
export function allTags(dashboards: readonly Pick<IDashboardSummary, 'tags'>[]): string[] {
  const tags = new Set<string>();
  for (const d of dashboards) {
    d.tags.forEach(t => tags.add(t));
  }
  return [...tags].sort((a, b) => a.localeCompare(b));
}

/** A folder of the tree with what it holds (the root has `folder: null`). */
export interface ITreeNode {
  folder: IFolder | null;
  folders: ITreeNode[];
  dashboards: IDashboardSummary[];
  /** Dashboards in this folder and below (after filtering). */
  count: number;
}

const byName = (a: { name: string }, b: { name: string }) =>
  a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) ||
  (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The folder tree. With an active filter, only matching dashboards and the folders that
 * lead to them (or whose own name matches) are kept. A dashboard or folder whose parent is
 * unknown goes to the top level, and folder cycles are broken there too.
 */
export function buildTree(
  folders: readonly IFolder[],
  dashboards: readonly IDashboardSummary[],
  filter: IDashboardFilter = NO_FILTER
): ITreeNode {
  const known = new Map(folders.map(f => [f.id, f]));
  const parentOf = (f: IFolder): number | null => {
    // walk up; a cycle or a missing parent puts the folder at the top
    const seen = new Set([f.id]);
    let p = f.parent_id;
    while (p !== null && known.has(p)) {
      if (seen.has(p)) {
        return null;
      }
      seen.add(p);
      p = known.get(p)!.parent_id;
    }
    return f.parent_id !== null && known.has(f.parent_id) ? f.parent_id : null;
  };
  const filtering = !isEmptyFilter(filter);
  const text = filter.text.trim().toLowerCase();
  const make = (folder: IFolder | null): ITreeNode => {
    const id = folder ? folder.id : null;
    const kids = folders
      .filter(f => parentOf(f) === id && f.id !== id)
      .sort(byName)
      .map(make);
    const own = dashboards
      .filter(d => (d.folder_id !== null && known.has(d.folder_id) ? d.folder_id : null) === id)
      .filter(d => !filtering || matchesFilter(d, filter))
      .sort(byName);
    const count = own.length + kids.reduce((n, k) => n + k.count, 0);
    return { folder, folders: kids, dashboards: own, count };
  };
  const prune = (node: ITreeNode): ITreeNode => ({
    ...node,
    folders: node.folders
      .map(prune)
      .filter(
        k =>
          k.count > 0 ||
          (!!text && !filter.tag && k.folder!.name.toLowerCase().includes(text)) ||
          k.folders.length > 0
      )
  });
  const root = make(null);
  return filtering ? prune(root) : root;
}

/** Ids of a folder and every folder below it. */
export function folderAndDescendants(folders: readonly IFolder[], id: number): Set<number> {
  const out = new Set([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const f of folders) {
      if (f.parent_id !== null && out.has(f.parent_id) && !out.has(f.id)) {
        out.add(f.id);
        grew = true;
      }
    }
  }
  return out;
}

/** `Team / Sales / 2025`, or `Top level` for null. */
export function folderPath(folders: readonly IFolder[], id: number | null): string {
  if (id === null) {
    return 'Top level';
  }
  const known = new Map(folders.map(f => [f.id, f]));
  const parts: string[] = [];
  const seen = new Set<number>();
  let cur = known.get(id);
  while (cur && !seen.has(cur.id)) {
    parts.unshift(cur.name);
    seen.add(cur.id);
    cur = cur.parent_id !== null ? known.get(cur.parent_id) : undefined;
  }
  return parts.join(' / ') || 'Top level';
}

/**
 * Where something can be moved: the top level and every folder, minus (for a folder)
 * itself and its descendants; sorted by path.
 */
export function moveTargets(
  folders: readonly IFolder[],
  moving: { kind: 'folder' | 'dashboard'; id: number }
): { id: number | null; label: string }[] {
  const banned =
    moving.kind === 'folder' ? folderAndDescendants(folders, moving.id) : new Set<number>();
  const out: { id: number | null; label: string }[] = folders
    .filter(f => !banned.has(f.id))
    .map(f => ({ id: f.id, label: folderPath(folders, f.id) }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return [{ id: null, label: 'Top level' }, ...out];
}

/** Recently viewed dashboards of one workspace that still exist, newest first. */
export function recentsFor(
  recents: readonly IRecent[],
  workspaceId: number,
  dashboards: readonly IDashboardSummary[],
  limit = 5
): IDashboardSummary[] {
  const byId = new Map(dashboards.map(d => [d.id, d]));
  return [...recents]
    .filter(r => r.workspace_id === workspaceId && byId.has(r.dashboard_id))
    .sort((a, b) => (a.viewed_at < b.viewed_at ? 1 : a.viewed_at > b.viewed_at ? -1 : 0))
    .slice(0, limit)
    .map(r => byId.get(r.dashboard_id)!);
}

/** `base`, or `base (2)`, `base (3)`... whichever is not taken (case-insensitive). */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map(n => n.toLowerCase()));
  const clean = base.trim() || 'Untitled dashboard';
  if (!used.has(clean.toLowerCase())) {
    return clean;
  }
  for (let i = 2; ; i++) {
    const name = `${clean} (${i})`;
    if (!used.has(name.toLowerCase())) {
      return name;
    }
  }
}

/** Why a dashboard or folder name cannot be used, or null. */
export function validateItemName(name: string): string | null {
  const n = name.trim();
  if (!n) {
    return 'Enter a name.';
  }
  if (n.length > 200) {
    return 'Use at most 200 characters.';
  }
  if (/[\x00-\x1f\x7f]/.test(n)) {
    return 'Names cannot contain control characters.';
  }
  return null;
}

// ---------------------------------------------------------------- the grid

export function overlaps(a: IGridPos, b: IGridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** A position made to fit the grid: at least 1×1, inside the columns, never negative. */
export function clampPos(p: IGridPos, columns: number): IGridPos {
  const w = Math.max(1, Math.min(columns, Math.round(p.w)));
  const h = Math.max(1, Math.min(100, Math.round(p.h)));
  const x = Math.max(0, Math.min(columns - w, Math.round(p.x)));
  const y = Math.max(0, Math.round(p.y));
  return { x, y, w, h };
}

/**
 * Resolve overlaps after widget `fixedId` moved or grew: whatever it covers moves down
 * just below it, and whatever that covers moves below in turn (a cascade, as in
 * react-grid-layout), then everything floats up as far as it can (compaction).
 * Returns new widget objects; the input is not changed.
 */
export function settle<T extends { id?: string; position: IGridPos }>(
  widgets: readonly T[],
  fixedId?: string
): T[] {
  const out = widgets.map(w => ({ ...w, position: { ...w.position } }));
  const fixed = out.find(w => w.id === fixedId);
  const queue: T[] = fixed
    ? [fixed]
    : [...out].sort((a, b) => a.position.y - b.position.y || a.position.x - b.position.x);
  for (let guard = 0; queue.length && guard < 10_000; guard++) {
    const pusher = queue.shift()!;
    const hit = out
      .filter(o => o !== pusher && o !== fixed && overlaps(pusher.position, o.position))
      .sort((a, b) => a.position.y - b.position.y);
    for (const o of hit) {
      o.position.y = pusher.position.y + pusher.position.h;
      queue.push(o);
    }
  }
  return compact(out, fixed);
}

/** Float every widget up as far as it goes without overlapping (top to bottom). */
export function compact<T extends { id?: string; position: IGridPos }>(widgets: readonly T[], first?: T): T[] {
  const out = first ? [...widgets] : widgets.map(w => ({ ...w, position: { ...w.position } }));
  const sorted = [...out].sort(
    (a, b) => (a === first ? -1 : b === first ? 1 : a.position.y - b.position.y || a.position.x - b.position.x)
  );
  const placed: IGridPos[] = [];
  for (const w of sorted) {
    let y = w.position.y;
    while (y > 0 && !placed.some(p => overlaps({ ...w.position, y: y - 1 }, p))) {
      y--;
    }
    w.position.y = y;
    placed.push(w.position);
  }
  return out;
}

/** Move (or resize) one widget to `pos`, then settle the others around it. */
export function placeWidget<T extends { id?: string; position: IGridPos }>(
  widgets: readonly T[],
  id: string,
  pos: IGridPos,
  columns: number
): T[] {
  const next = widgets.map(w => (w.id === id ? { ...w, position: clampPos(pos, columns) } : w));
  return settle(next, id);
}

/** The rows a layout uses. */
export function gridRows(widgets: readonly { position: IGridPos }[]): number {
  return widgets.reduce((n, w) => Math.max(n, w.position.y + w.position.h), 0);
}

/** Where a new `w`×`h` widget goes: below everything, at the left. */
export function nextFreePosition(
  widgets: readonly { position: IGridPos }[],
  w: number,
  h: number,
  columns: number
): IGridPos {
  return clampPos({ x: 0, y: gridRows(widgets), w, h }, columns);
}

/** A pointer movement in pixels as grid cells (rounded to the nearest cell). */
export function pixelsToCells(
  dx: number,
  dy: number,
  cellWidth: number,
  rowHeight: number
): { dx: number; dy: number } {
  return {
    dx: cellWidth > 0 ? Math.round(dx / cellWidth) : 0,
    dy: rowHeight > 0 ? Math.round(dy / rowHeight) : 0
  };
}

/** A keyboard move or resize: arrow keys move, Shift+arrows resize. */
export function keyboardStep(
  pos: IGridPos,
  key: string,
  resize: boolean,
  columns: number
): IGridPos | null {
  const d: Record<string, [number, number]> = {
    ArrowLeft: [-1, 0],
    ArrowRight: [1, 0],
    ArrowUp: [0, -1],
    ArrowDown: [0, 1]
  };
  const step = d[key];
  if (!step) {
    return null;
  }
  const next = resize
    ? { ...pos, w: pos.w + step[0], h: pos.h + step[1] }
    : { ...pos, x: pos.x + step[0], y: pos.y + step[1] };
  return clampPos(next, columns);
}

// ---------------------------------------------------------------- charts and values

export const CHART_KINDS: readonly WidgetKind[] = ['line', 'bar', 'area', 'scatter', 'pie'];
export const WIDGET_KINDS: readonly WidgetKind[] = ['metric', 'table', ...CHART_KINDS, 'text'];

export function isChart(kind: WidgetKind): boolean {
  return CHART_KINDS.includes(kind);
}

const MARKS: Record<string, string> = {
  line: 'line',
  bar: 'bar',
  area: 'area',
  scatter: 'point',
  pie: 'arc'
};

/** Rows as Vega-Lite records (`{column: value}`). */
export function records(columns: readonly string[], rows: readonly unknown[][]): Record<string, unknown>[] {
  return rows.map(r => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
}

const DATE_RE = /^\d{4}-\d{2}(-\d{2})?([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** `quantitative`, `temporal` or `nominal` for a column, from its values. */
export function columnType(values: readonly unknown[]): 'quantitative' | 'temporal' | 'nominal' {
  const present = values.filter(v => v !== null && v !== undefined);
  if (!present.length) {
    return 'nominal';
  }
  if (present.every(v => typeof v === 'number')) {
    return 'quantitative';
  }
  if (present.every(v => typeof v === 'string' && DATE_RE.test(v))) {
    return 'temporal';
  }
  return 'nominal';
}

/** A default encoding for `kind` from the columns: first non-number as x, first number as y. */
export function defaultEncoding(
  kind: WidgetKind,
  columns: readonly string[],
  rows: readonly unknown[][]
): Record<string, any> {
  const types = columns.map((_, i) => columnType(rows.map(r => r[i])));
  const num = columns.find((_, i) => types[i] === 'quantitative');
  const dim = columns.find((_, i) => types[i] !== 'quantitative') ?? columns[0];
  const dimType = types[columns.indexOf(dim)] ?? 'nominal';
  if (kind === 'pie') {
    return {
      theta: { field: num ?? columns[1] ?? columns[0], type: 'quantitative' },
      color: { field: dim, type: 'nominal' }
    };
  }
  if (kind === 'scatter') {
    const nums = columns.filter((_, i) => types[i] === 'quantitative');
    return {
      x: { field: nums[0] ?? columns[0], type: 'quantitative' },
      y: { field: nums[1] ?? nums[0] ?? columns[1], type: 'quantitative' }
    };
  }
  return {
    x: { field: dim, type: dimType },
    y: { field: num ?? columns[1] ?? columns[0], type: 'quantitative' }
  };
}

const UNSAFE_KEYS = new Set(['url', 'href', 'usermeta', 'loader']);

/**
 * A copy of a stored spec without anything that could fetch a URL or make a link
 * (`url` in data and lookups, `href` channels and marks): a widget's rows come only from
 * its query, and a spec written by someone else must not send the viewer anywhere.
 */
export function sanitizeSpec<T>(value: T, depth = 0): T {
  if (depth > 50) {
    return null as T;
  }
  if (Array.isArray(value)) {
    return value.map(v => sanitizeSpec(v, depth + 1)) as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!UNSAFE_KEYS.has(k)) {
        out[k] = sanitizeSpec(v, depth + 1);
      }
    }
    return out as T;
  }
  return value;
}

/**
 * The Vega-Lite spec of a chart widget for its rows: the widget's own spec (its mark
 * switched to the widget's kind) or a default one, with the rows inline, sized to fit,
 * coloured from the workspace theme.
 */
export function chartSpec(
  widget: Pick<IWidget, 'kind' | 'spec' | 'title'>,
  columns: readonly string[],
  rows: readonly unknown[][],
  theme?: Partial<ITheme>
): Record<string, any> {
  const base: Record<string, any> = sanitizeSpec({ ...(widget.spec ?? {}) });
  for (const k of ['data', 'datasets', '$schema', 'title', 'width', 'height', 'autosize']) {
    delete base[k];
  }
  const mark = MARKS[widget.kind] ?? 'bar';
  const currentMark = typeof base.mark === 'string' ? base.mark : base.mark?.type;
  const hasLayers = Array.isArray(base.layer) || Array.isArray(base.hconcat) || Array.isArray(base.vconcat);
  const enc = base.encoding as Record<string, any> | undefined;
  const usable =
    !hasLayers &&
    enc &&
    currentMark &&
    (mark === 'arc') === (currentMark === 'arc') &&
    Object.values(enc).every(e => !e?.field || columns.includes(e.field));
  if (!usable) {
    delete base.layer;
    delete base.hconcat;
    delete base.vconcat;
    delete base.transform;
    base.encoding = defaultEncoding(widget.kind, columns, rows);
  }
  if (!hasLayers || !usable) {
    base.mark =
      typeof base.mark === 'object' && usable
        ? { ...base.mark, type: mark, tooltip: true }
        : { type: mark, tooltip: true, ...(mark === 'line' ? { point: true } : {}) };
  }
  const palette = theme?.palette?.length ? theme.palette : undefined;
  const spec: Record<string, any> = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...base,
    data: { values: records(columns, rows) },
    width: 'container',
    height: 'container',
    autosize: { type: 'fit', contains: 'padding' },
    background: 'transparent'
  };
  if (palette) {
    spec.config = { ...(spec.config ?? {}), range: { category: palette }, mark: { color: palette[0] } };
  }
  return spec;
}

/** The widget with another kind (chart type); a chart spec keeps its encoding when it fits. */
export function withKind(widget: IWidget, kind: WidgetKind): IWidget {
  if (kind === 'text') {
    return { ...widget, kind, query: null, spec: null };
  }
  const next: IWidget = { ...widget, kind };
  if (isChart(kind) && widget.spec) {
    const mark = MARKS[kind];
    const cur = typeof widget.spec.mark === 'string' ? widget.spec.mark : widget.spec.mark?.type;
    next.spec =
      (mark === 'arc') === (cur === 'arc') ? { ...widget.spec, mark: { type: mark } } : null;
  }
  if (!isChart(kind)) {
    next.spec = null;
  }
  return next;
}

/**
 * A value formatted with a small subset of d3-format: `$` prefix, `,` grouping, `.Nf`
 * fixed decimals, `.N%` percent, `d` integer, `~` trims trailing zeros. Anything else
 * (dates, text) is shown as is.
 */
export function formatValue(value: unknown, format?: string): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return String(value);
  }
  const m = format ? /^(\$)?(,)?(?:\.(\d+))?(~)?([fd%])?$/.exec(format) : null;
  if (!m) {
    return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }
  const [, dollar, comma, digits, trim, type] = m;
  let v = value;
  let suffix = '';
  if (type === '%') {
    v *= 100;
    suffix = '%';
  }
  const decimals =
    type === 'd' ? 0 : digits !== undefined ? Number(digits) : type ? 6 : Number.isInteger(v) ? 0 : 2;
  const opts: Intl.NumberFormatOptions = {
    useGrouping: !!comma,
    minimumFractionDigits: trim ? 0 : decimals,
    maximumFractionDigits: decimals
  };
  const text = Math.abs(v).toLocaleString('en-US', opts);
  return `${v < 0 ? '-' : ''}${dollar ? '$' : ''}${text}${suffix}`;
}

/** The value a metric card shows: the first cell of the first row. */
export function metricValue(columns: readonly string[], rows: readonly unknown[][]): unknown {
  return rows.length && columns.length ? rows[0][0] : null;
}

/**
 * Run `tasks` with at most `limit` in flight (a dashboard's widget queries: a big
 * dashboard must not open hundreds of requests at once). Resolves when all settled.
 */
export async function runLimited(tasks: readonly (() => Promise<unknown>)[], limit = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      try {
        await task();
      } catch {
        // each task reports its own failure
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
}

// ---------------------------------------------------------------- answers

/** The widget kind that fits an answer: its chart, a metric for one value, else a table. */
export function answerKind(result: Pick<IAskResult, 'chart' | 'columns' | 'rows'>): WidgetKind {
  const chart = result.chart?.usermeta?.dataask?.chart as string | undefined;
  const byChart: Record<string, WidgetKind> = {
    line: 'line',
    bar: 'bar',
    stacked_bar: 'bar',
    scatter: 'scatter',
    area: 'area',
    pie: 'pie',
    metric: 'metric'
  };
  if (chart && byChart[chart]) {
    return byChart[chart];
  }
  if (result.chart) {
    const mark = typeof result.chart.mark === 'string' ? result.chart.mark : result.chart.mark?.type;
    const byMark: Record<string, WidgetKind> = {
      line: 'line',
      bar: 'bar',
      area: 'area',
      point: 'scatter',
      circle: 'scatter',
      arc: 'pie',
      text: 'metric'
    };
    if (mark && byMark[mark]) {
      return byMark[mark];
    }
  }
  if (result.columns.length === 1 && result.rows.length === 1) {
    return 'metric';
  }
  return 'table';
}

/** A chart spec without its data (the widget's query supplies the rows when it runs). */
export function specTemplate(spec: Record<string, any> | null): Record<string, any> | null {
  if (!spec) {
    return null;
  }
  const out = { ...spec };
  delete out.data;
  delete out.datasets;
  return out;
}

/** A dashboard widget that runs an answer's SQL, placed below the existing widgets. */
export function answerToWidget(
  result: IAskResult,
  existing: readonly { position: IGridPos }[],
  layout: ILayout = { columns: 12, row_height: 80 }
): IWidget {
  const kind = answerKind(result);
  const query: IWidget['query'] =
    result.federated || result.connections.length !== 1
      ? { kind: 'federated', sql: result.sql }
      : { kind: 'sql', connection: result.connections[0], sql: result.sql };
  const size = kind === 'metric' ? { w: 3, h: 2 } : kind === 'table' ? { w: 12, h: 4 } : { w: 6, h: 4 };
  return {
    kind,
    title: result.question.slice(0, 200),
    query,
    spec: isChart(kind) ? specTemplate(result.chart) : null,
    options: {},
    position: nextFreePosition(existing, size.w, size.h, layout.columns)
  };
}

/**
 * The notebook cell of an answer: `%%ask` with the question, or `%%federate` with the SQL
 * (its `connection.table` form when the server sent one).
 */
export function cellSource(
  result: Pick<IAskResult, 'question' | 'sql' | 'federate_sql'>,
  mode: 'ask' | 'federate'
): string {
  return mode === 'ask'
    ? `%%ask\n${result.question.trim()}`
    : `%%federate\n${(result.federate_sql || result.sql).trim()}`;
}

// ---------------------------------------------------------------- thumbnails

/** Widget rectangles of a thumbnail `width` pixels wide; rows shrink so the whole grid fits `maxHeight`. */
export function thumbnailRects(
  widgets: readonly Pick<IWidget, 'kind' | 'title' | 'position'>[],
  layout: ILayout,
  width: number,
  maxHeight: number
): { x: number; y: number; w: number; h: number; kind: WidgetKind; title: string }[] {
  const cols = Math.max(1, layout.columns);
  const cell = width / cols;
  const rows = Math.max(1, gridRows(widgets));
  const rowH = Math.min(cell * Math.min(1, layout.row_height / 80) * 0.9, maxHeight / rows);
  return widgets.map(wd => ({
    x: wd.position.x * cell,
    y: wd.position.y * rowH,
    w: wd.position.w * cell,
    h: wd.position.h * rowH,
    kind: wd.kind,
    title: wd.title
  }));
}

/** What a failed save says: a 409 becomes a clear "someone saved first" message. */
export function saveErrorMessage(err: { status?: number; message: string }): string {
  if (err.status === 409) {
    return 'Someone else saved this dashboard after you opened it, so your changes were not saved. Reload to get their version (copy your edits first), then save again.';
  }
  return err.message;
}
