/**
 * Pure model logic of the DataAsk sidebar: formatting, ordering, error extraction and the
 * fuzzy matcher of the quick switcher. No DOM, no JupyterLab imports: unit-tested alone.
 */

import type {
  HealthStatus,
  IConnectionInfo,
  IErrorBody
} from './types';

// ---------------------------------------------------------------- health status

/** Statuses from worst to best: the order used wherever connections are ranked by health. */
export const STATUS_ORDER: readonly HealthStatus[] = [
  'down',
  'degraded',
  'unknown',
  'active'
];

const STATUS_LABELS: Record<HealthStatus, string> = {
  active: 'active',
  degraded: 'degraded',
  down: 'down',
  unknown: 'unknown'
};

const STATUS_DESCRIPTIONS: Record<HealthStatus, string> = {
  active: 'Answering normally',
  degraded: 'Slow or failing some queries',
  down: 'The last attempt failed',
  unknown: 'Not checked yet'
};

/** Any value from the wire as a known status (`unknown` for anything else). */
export function normalizeStatus(value: unknown): HealthStatus {
  return typeof value === 'string' &&
    (STATUS_ORDER as readonly string[]).includes(value)
    ? (value as HealthStatus)
    : 'unknown';
}

/** 0 for the worst status (`down`), up to 3 for `active`. */
export function statusRank(status: HealthStatus): number {
  return STATUS_ORDER.indexOf(normalizeStatus(status));
}

/** The badge text of a status. */
export function statusLabel(status: HealthStatus): string {
  return STATUS_LABELS[normalizeStatus(status)];
}

/** One sentence saying what a status means. */
export function statusDescription(status: HealthStatus): string {
  return STATUS_DESCRIPTIONS[normalizeStatus(status)];
}

/** The worst status among `statuses`, or `null` when there are none. */
export function worstStatus(
  statuses: Iterable<HealthStatus>
): HealthStatus | null {
  let worst: HealthStatus | null = null;
  for (const s of statuses) {
    if (worst === null || statusRank(s) < statusRank(worst)) {
      worst = normalizeStatus(s);
    }
  }
  return worst;
}

/** Case-insensitive name order, ties broken by the exact name. */
export function compareNames(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) {
    return la < lb ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Connections in display order: by name (stable across polls, so rows never jump when a
 * status changes), or by health, worst first, then by name.
 */
export function sortConnections<
  T extends Pick<IConnectionInfo, 'name' | 'health'>
>(connections: readonly T[], by: 'name' | 'status' = 'name'): T[] {
  return [...connections].sort((a, b) => {
    if (by === 'status') {
      const d = statusRank(a.health.status) - statusRank(b.health.status);
      if (d !== 0) {
        return d;
      }
    }
    return compareNames(a.name, b.name);
  });
}

// ---------------------------------------------------------------- latency and time

/**
 * A latency for people: `–` when unknown, `0.42 ms`, `12 ms`, `1.2 s`, `2 min`.
 */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return '–';
  }
  if (ms < 1) {
    return `${ms.toFixed(2)} ms`;
  }
  if (ms < 10) {
    return `${ms.toFixed(1)} ms`;
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  return `${Math.round(ms / 60_000)} min`;
}

/** `p50 3.2 ms · p95 12 ms`, or `no latency samples yet`. */
export function formatLatencyPair(
  p50: number | null | undefined,
  p95: number | null | undefined
): string {
  if ((p50 ?? null) === null && (p95 ?? null) === null) {
    return 'no latency samples yet';
  }
  return `p50 ${formatLatency(p50)} · p95 ${formatLatency(p95)}`;
}

/**
 * The short latency of a list row: `3.2 / 12 ms` (p50 / p95, one unit when they share
 * it), `0.8 ms / 1.2 s`, `12 ms` when only one is known, `–` when none is.
 */
export function formatLatencyCompact(
  p50: number | null | undefined,
  p95: number | null | undefined
): string {
  const a = formatLatency(p50);
  const b = formatLatency(p95);
  if (a === '–' || b === '–') {
    return a === '–' ? b : a;
  }
  const [na, ua] = a.split(' ');
  const [nb, ub] = b.split(' ');
  return ua === ub ? `${na} / ${nb} ${ub}` : `${a} / ${b}`;
}

/** `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`; `never` for null. */
export function formatAgo(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
  if (!iso) {
    return 'never';
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    return 'never';
  }
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) {
    return 'just now';
  }
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.round(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.round(s / 3600)} h ago`;
  }
  return `${Math.round(s / 86400)} d ago`;
}

/**
 * The hover text of a connection row: status, latency, last check and last error.
 */
export function connectionTooltip(
  conn: Pick<IConnectionInfo, 'name' | 'family' | 'url' | 'health'>,
  now: number = Date.now()
): string {
  const h = conn.health;
  const lines = [
    `${conn.name} (${conn.family}): ${statusLabel(h.status)} – ${statusDescription(h.status)}`,
    `Latency: ${formatLatencyPair(h.latency_p50_ms, h.latency_p95_ms)}`,
    `Last checked: ${formatAgo(h.last_checked_at, now)}`,
    `URL: ${conn.url}`
  ];
  if (h.error_count > 0) {
    lines.push(
      `Errors: ${h.error_count} of the last checks (${Math.round(h.error_rate * 100)}%)`
    );
  }
  if (h.last_error) {
    lines.push(`Last error: ${h.last_error}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- errors

/** An error as the sidebar shows it. */
export interface IErrorInfo {
  code: string;
  message: string;
  status?: number;
}

const STATUS_MESSAGES: Record<number, string> = {
  400: 'The server did not accept the request.',
  403: 'You are not allowed to do this (or your session expired: reload the page).',
  404: 'Not found on the server. Is the DataAsk server extension enabled?',
  409: 'Someone else changed this first. Refresh and try again.',
  413: 'The request is too large.',
  502: 'The database could not be reached.',
  503: 'The DataAsk server is not ready. Try again in a moment.'
};

function isErrorBody(body: unknown): body is IErrorBody {
  if (typeof body !== 'object' || body === null) {
    return false;
  }
  const err = (body as { error?: unknown }).error;
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { message?: unknown }).message === 'string'
  );
}

/**
 * The `{code, message}` of a failed response: the server's one error shape when present,
 * else a short sentence for the HTTP status (never an HTML page or a traceback).
 */
export function extractError(
  body: unknown,
  status?: number,
  fallback = 'Something went wrong.'
): IErrorInfo {
  if (isErrorBody(body)) {
    const code =
      typeof body.error.code === 'string' && body.error.code
        ? body.error.code
        : 'error';
    return { code, message: body.error.message || fallback, status };
  }
  if (typeof body === 'object' && body !== null) {
    const msg = (body as { message?: unknown }).message;
    if (typeof msg === 'string' && msg.trim()) {
      return { code: 'error', message: msg.trim(), status };
    }
  }
  if (typeof body === 'string') {
    const text = body.trim();
    // a short plain-text body is a message; an HTML page or a traceback is not
    if (
      text &&
      text.length <= 300 &&
      !text.startsWith('<') &&
      !text.includes('Traceback')
    ) {
      return { code: 'error', message: text, status };
    }
  }
  const message =
    (status !== undefined && STATUS_MESSAGES[status]) ||
    (status !== undefined && status >= 500
      ? 'The server failed. See the Jupyter server log.'
      : fallback);
  return { code: status ? `http_${status}` : 'error', message, status };
}

// ---------------------------------------------------------------- the add form

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Why `name` is not a valid connection name, or `null` if it is (mirrors the server:
 * letters, digits, underscores, starting with a letter or underscore, at most 63).
 */
export function validateName(name: string): string | null {
  if (!name) {
    return 'Enter a name.';
  }
  if (name.length > 63) {
    return 'Use at most 63 characters.';
  }
  if (!NAME_RE.test(name)) {
    return 'Use letters, digits and underscores, starting with a letter (e.g. shop_sales).';
  }
  return null;
}

/** Why `url` cannot be a connection URL, or `null` (the server checks the rest). */
export function validateUrl(url: string): string | null {
  const u = url.trim();
  if (!u) {
    return 'Enter a URL, e.g. sqlite:///path/to/file.db or postgresql://user@host/db.';
  }
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(u)) {
    return 'Start with the database type, e.g. postgresql://, mysql://, sqlite:///, duckdb:///.';
  }
  return null;
}

/**
 * A connection name suggested from a URL: the database or file name, made valid
 * (`sqlite:///data/Shop-Sales.db` → `shop_sales`, `postgresql://u@h/analytics` → `analytics`).
 */
export function suggestName(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^?#]*)/.exec(url.trim());
  if (!m) {
    return '';
  }
  const scheme = m[1].split('+')[0].toLowerCase();
  const rest = m[2];
  const slash = rest.indexOf('/');
  let path = slash >= 0 ? rest.slice(slash + 1) : '';
  path = path.replace(/\/+$/, '');
  let base = path.split('/').pop() ?? '';
  base = base.replace(/\.(sqlite3?|db|duckdb|ddb)$/i, '');
  if (!base || base === ':memory:') {
    const host = (slash >= 0 ? rest.slice(0, slash) : rest)
      .split('@')
      .pop()!
      .split(':')[0];
    base = host && host !== 'localhost' && host !== '127.0.0.1' ? host : scheme;
  }
  let name = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name) {
    return '';
  }
  if (!/^[a-z_]/.test(name)) {
    name = `${scheme}_${name}`;
  }
  return name.slice(0, 63);
}

// ---------------------------------------------------------------- fuzzy matching

/** A fuzzy match: higher scores are better; `indices` are the matched characters. */
export interface IFuzzyMatch {
  score: number;
  indices: number[];
}

const SEPARATORS = new Set([' ', '_', '-', '.', '/', ':', '\\', '(', '[']);

function positionBonus(text: string, i: number): number {
  if (i === 0) {
    return 8;
  }
  const prev = text[i - 1];
  if (SEPARATORS.has(prev)) {
    return 6;
  }
  const c = text[i];
  // camelCase boundary: fooBar matches "b" at the capital
  if (
    prev === prev.toLowerCase() &&
    prev !== prev.toUpperCase() &&
    c !== c.toLowerCase()
  ) {
    return 5;
  }
  return 0;
}

const CONSECUTIVE = 5;
const GAP = 0.5;
const LEADING_GAP = 0.1;

/**
 * Match `query` against `text` as a case-insensitive subsequence, scoring word starts and
 * runs of consecutive characters higher (the best alignment, not the leftmost one).
 * Whitespace in the query is ignored. Returns `null` when not every query character
 * occurs in order. An empty query matches everything with score 0.
 */
export function fuzzyMatch(query: string, text: string): IFuzzyMatch | null {
  const q = query.replace(/\s+/g, '').toLowerCase();
  if (!q) {
    return { score: 0, indices: [] };
  }
  const t = text.toLowerCase();
  const n = t.length;
  const m = q.length;
  if (m > n) {
    return null;
  }
  // quick reject: subsequence test
  for (let i = 0, j = 0; i < m; i++, j++) {
    j = t.indexOf(q[i], j);
    if (j < 0) {
      return null;
    }
  }
  // best[i][j]: best score with q[i] matched at t[j]; from[i][j]: where q[i-1] was.
  // A gap of g characters costs GAP * g, so the best predecessor over all earlier k is a
  // running maximum of best[i-1][k] + GAP * k: O(m * n) in all.
  const src = t.length === text.length ? text : t;
  const NEG = -Infinity;
  const best: Float64Array[] = [];
  const from: Int32Array[] = [];
  for (let i = 0; i < m; i++) {
    const row = new Float64Array(n).fill(NEG);
    const back = new Int32Array(n).fill(-1);
    const prev = i > 0 ? best[i - 1] : null;
    let runMax = NEG; // max over k <= j - 2 of prev[k] + GAP * k
    let runArg = -1;
    for (let j = i; j < n; j++) {
      if (prev && j - 2 >= 0 && prev[j - 2] !== NEG) {
        const v = prev[j - 2] + GAP * (j - 2);
        if (v > runMax) {
          runMax = v;
          runArg = j - 2;
        }
      }
      if (t[j] !== q[i]) {
        continue;
      }
      const own = 1 + positionBonus(src, j);
      if (!prev) {
        row[j] = own - LEADING_GAP * j;
        continue;
      }
      let bestPrev = NEG;
      let arg = -1;
      if (prev[j - 1] !== NEG) {
        bestPrev = prev[j - 1] + CONSECUTIVE;
        arg = j - 1;
      }
      if (runArg >= 0) {
        const s = runMax - GAP * (j - 1);
        if (s > bestPrev) {
          bestPrev = s;
          arg = runArg;
        }
      }
      if (arg >= 0) {
        row[j] = bestPrev + own;
        back[j] = arg;
      }
    }
    best.push(row);
    from.push(back);
  }
  let end = -1;
  let score = NEG;
  for (let j = 0; j < n; j++) {
    if (best[m - 1][j] > score) {
      score = best[m - 1][j];
      end = j;
    }
  }
  if (end < 0) {
    return null;
  }
  const indices = new Array<number>(m);
  for (let i = m - 1, j = end; i >= 0; i--) {
    indices[i] = j;
    j = from[i][j];
  }
  if (t === q) {
    score += 100; // exact
  } else if (t.startsWith(q)) {
    score += 20; // prefix
  }
  score -= 0.01 * (n - m); // shorter texts first among equals
  return { score, indices };
}

/** One ranked result of {@link fuzzyFilter}. */
export interface IFuzzyResult<T> extends IFuzzyMatch {
  item: T;
  /** Which of the item's texts matched (0: the label, highlighted with `indices`). */
  key: number;
}

/**
 * `items` that match `query`, best first (the original order among equal scores).
 * `texts(item)` gives the label first, then secondary texts (matched at half score).
 */
export function fuzzyFilter<T>(
  query: string,
  items: readonly T[],
  texts: (item: T) => string | readonly string[],
  limit = Infinity
): IFuzzyResult<T>[] {
  const results: (IFuzzyResult<T> & { order: number })[] = [];
  items.forEach((item, order) => {
    const all = texts(item);
    const list = typeof all === 'string' ? [all] : all;
    let found: (IFuzzyResult<T> & { order: number }) | null = null;
    list.forEach((text, key) => {
      const r = fuzzyMatch(query, text);
      if (!r) {
        return;
      }
      const score = key === 0 ? r.score : r.score / 2 - 1;
      if (!found || score > found.score) {
        found = { item, key, order, score, indices: key === 0 ? r.indices : [] };
      }
    });
    if (found) {
      results.push(found);
    }
  });
  results.sort((a, b) => b.score - a.score || a.order - b.order);
  return results.slice(0, limit).map(({ order: _order, ...r }) => r);
}

/**
 * `text` cut into runs for highlighting: `[{text, match}]`, where `match` marks the
 * characters at `indices`.
 */
export function highlightRuns(
  text: string,
  indices: readonly number[]
): { text: string; match: boolean }[] {
  const set = new Set(indices);
  const runs: { text: string; match: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const match = set.has(i);
    const last = runs[runs.length - 1];
    if (last && last.match === match) {
      last.text += text[i];
    } else {
      runs.push({ text: text[i], match });
    }
  }
  return runs;
}
