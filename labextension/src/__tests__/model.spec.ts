import { describe, expect, it } from 'vitest';

import {
  compareNames,
  connectionTooltip,
  extractError,
  formatAgo,
  formatLatency,
  formatLatencyCompact,
  formatLatencyPair,
  fuzzyFilter,
  fuzzyMatch,
  highlightRuns,
  normalizeStatus,
  sortConnections,
  statusRank,
  STATUS_ORDER,
  suggestName,
  validateName,
  validateUrl,
  worstStatus
} from '../model';
import type { HealthStatus, IConnectionHealth } from '../types';

function health(
  status: HealthStatus,
  extra: Partial<IConnectionHealth> = {}
): IConnectionHealth {
  return {
    status,
    latency_p50_ms: null,
    latency_p95_ms: null,
    error_count: 0,
    error_rate: 0,
    last_error: null,
    last_success_at: null,
    last_checked_at: null,
    ...extra
  };
}

describe('status', () => {
  it('orders worst first', () => {
    expect(STATUS_ORDER).toEqual(['down', 'degraded', 'unknown', 'active']);
    expect(statusRank('down')).toBeLessThan(statusRank('degraded'));
    expect(statusRank('degraded')).toBeLessThan(statusRank('unknown'));
    expect(statusRank('unknown')).toBeLessThan(statusRank('active'));
  });

  it('normalizes anything unexpected to unknown', () => {
    expect(normalizeStatus('active')).toBe('active');
    expect(normalizeStatus('ACTIVE')).toBe('unknown');
    expect(normalizeStatus(undefined)).toBe('unknown');
    expect(normalizeStatus(3)).toBe('unknown');
    expect(statusRank('bogus' as HealthStatus)).toBe(statusRank('unknown'));
  });

  it('finds the worst status', () => {
    expect(worstStatus([])).toBeNull();
    expect(worstStatus(['active', 'degraded', 'unknown'])).toBe('degraded');
    expect(worstStatus(['active', 'down', 'degraded'])).toBe('down');
    expect(worstStatus(['active'])).toBe('active');
  });

  it('sorts by name (stable across status changes) or by health', () => {
    const conns = [
      { name: 'zeta', health: health('active') },
      { name: 'Alpha', health: health('down') },
      { name: 'beta', health: health('degraded') },
      { name: 'alpha', health: health('active') }
    ];
    expect(sortConnections(conns).map(c => c.name)).toEqual([
      'Alpha',
      'alpha',
      'beta',
      'zeta'
    ]);
    expect(sortConnections(conns, 'status').map(c => c.name)).toEqual([
      'Alpha',
      'beta',
      'alpha',
      'zeta'
    ]);
    // input untouched
    expect(conns[0].name).toBe('zeta');
    expect(compareNames('a', 'a')).toBe(0);
  });
});

describe('latency and time', () => {
  it('formats latency for people', () => {
    expect(formatLatency(null)).toBe('–');
    expect(formatLatency(undefined)).toBe('–');
    expect(formatLatency(Number.NaN)).toBe('–');
    expect(formatLatency(-1)).toBe('–');
    expect(formatLatency(0)).toBe('0.00 ms');
    expect(formatLatency(0.423)).toBe('0.42 ms');
    expect(formatLatency(3.24)).toBe('3.2 ms');
    expect(formatLatency(12.6)).toBe('13 ms');
    expect(formatLatency(999.4)).toBe('999 ms');
    expect(formatLatency(1234)).toBe('1.2 s');
    expect(formatLatency(42_000)).toBe('42 s');
    expect(formatLatency(125_000)).toBe('2 min');
  });

  it('formats the p50/p95 pair', () => {
    expect(formatLatencyPair(null, null)).toBe('no latency samples yet');
    expect(formatLatencyPair(3.2, 12)).toBe('p50 3.2 ms · p95 12 ms');
    expect(formatLatencyPair(3.2, null)).toBe('p50 3.2 ms · p95 –');
  });

  it('formats the compact row latency', () => {
    expect(formatLatencyCompact(3.24, 12)).toBe('3.2 / 12 ms');
    expect(formatLatencyCompact(0.8, 1234)).toBe('0.80 ms / 1.2 s');
    expect(formatLatencyCompact(null, 12)).toBe('12 ms');
    expect(formatLatencyCompact(5, null)).toBe('5.0 ms');
    expect(formatLatencyCompact(null, undefined)).toBe('–');
  });

  it('formats relative times', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo('not a date', now)).toBe('never');
    expect(formatAgo('2025-01-01T12:00:00Z', now)).toBe('just now');
    expect(formatAgo('2025-01-01T11:59:18Z', now)).toBe('42 s ago');
    expect(formatAgo('2025-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2025-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2024-12-30T12:00:00Z', now)).toBe('2 d ago');
    expect(formatAgo('2025-01-01T12:00:10Z', now)).toBe('just now'); // clock skew
  });

  it('builds the hover text with latency and the last error', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    const text = connectionTooltip(
      {
        name: 'shop',
        family: 'postgres',
        url: 'postgresql://u:***@db/shop',
        health: health('down', {
          latency_p50_ms: 3.2,
          latency_p95_ms: 40,
          error_count: 2,
          error_rate: 0.25,
          last_error: 'connection refused',
          last_checked_at: '2025-01-01T11:59:00Z'
        })
      },
      now
    );
    expect(text).toContain('shop (postgres): down');
    expect(text).toContain('Latency: p50 3.2 ms · p95 40 ms');
    expect(text).toContain('Last checked: 1 min ago');
    expect(text).toContain('Errors: 2 of the last checks (25%)');
    expect(text).toContain('Last error: connection refused');
    expect(text).not.toContain('undefined');
  });

  it('leaves out error lines for a healthy connection', () => {
    const text = connectionTooltip({
      name: 'x',
      family: 'sqlite',
      url: 'sqlite:///x.db',
      health: health('active')
    });
    expect(text).not.toContain('Last error');
    expect(text).not.toContain('Errors:');
    expect(text).toContain('x (sqlite): active – Answering normally');
  });
});

describe('extractError', () => {
  it('reads the one error shape', () => {
    expect(
      extractError(
        { error: { code: 'connection_not_found', message: "No connection named 'x'." } },
        404
      )
    ).toEqual({
      code: 'connection_not_found',
      message: "No connection named 'x'.",
      status: 404
    });
  });

  it('fills a missing code', () => {
    expect(extractError({ error: { message: 'bad' } }, 400).code).toBe('error');
  });

  it('accepts a plain {message}', () => {
    expect(extractError({ message: ' Forbidden ' }, 403).message).toBe('Forbidden');
  });

  it('never shows HTML pages or tracebacks', () => {
    const html = extractError('<html><body>500 oops</body></html>', 500);
    expect(html.message).toBe('The server failed. See the Jupyter server log.');
    expect(html.code).toBe('http_500');
    const tb = extractError('Traceback (most recent call last): ...', 500);
    expect(tb.message).not.toContain('Traceback');
  });

  it('uses a short plain-text body as the message', () => {
    expect(extractError('Not Found', 404).message).toBe('Not Found');
  });

  it('explains bare statuses', () => {
    expect(extractError('', 404).message).toMatch(/server extension/);
    expect(extractError(null, 403).message).toMatch(/not allowed/);
    expect(extractError(undefined, 409).message).toMatch(/Refresh/);
    expect(extractError(undefined, undefined, 'Fallback.')).toEqual({
      code: 'error',
      message: 'Fallback.',
      status: undefined
    });
  });
});

describe('form validation', () => {
  it('validates names like the server', () => {
    expect(validateName('shop_sales')).toBeNull();
    expect(validateName('_x1')).toBeNull();
    expect(validateName('')).toMatch(/Enter a name/);
    expect(validateName('1abc')).toMatch(/letters/);
    expect(validateName('has space')).toMatch(/letters/);
    expect(validateName('dash-name')).toMatch(/letters/);
    expect(validateName('a'.repeat(63))).toBeNull();
    expect(validateName('a'.repeat(64))).toMatch(/63/);
  });

  it('validates URLs loosely (the server checks the rest)', () => {
    expect(validateUrl('sqlite:///tmp/x.db')).toBeNull();
    expect(validateUrl('postgresql+psycopg://u@h/db')).toBeNull();
    expect(validateUrl('  ')).toMatch(/Enter a URL/);
    expect(validateUrl('/tmp/x.db')).toMatch(/database type/);
  });

  it('suggests a name from the URL', () => {
    expect(suggestName('sqlite:///data/Shop-Sales.db')).toBe('shop_sales');
    expect(suggestName('sqlite:////abs/path/orders.sqlite3')).toBe('orders');
    expect(suggestName('duckdb:///w/warehouse.duckdb')).toBe('warehouse');
    expect(suggestName('postgresql://u:p@db.example.com:5432/analytics')).toBe(
      'analytics'
    );
    expect(suggestName('postgresql://u@db.example.com')).toBe('db_example_com');
    expect(suggestName('mysql://root@localhost/')).toBe('mysql');
    expect(suggestName('duckdb:///:memory:')).toBe('duckdb');
    expect(suggestName('sqlite:///data/2024.db')).toBe('sqlite_2024');
    expect(suggestName('not a url')).toBe('');
    for (const url of [
      'sqlite:///data/Shop-Sales.db',
      'postgresql://u@db.example.com',
      'sqlite:///data/2024.db'
    ]) {
      expect(validateName(suggestName(url))).toBeNull();
    }
  });
});

describe('fuzzyMatch', () => {
  it('matches subsequences case-insensitively', () => {
    expect(fuzzyMatch('ss', 'shop_sales')).not.toBeNull();
    expect(fuzzyMatch('SHOP', 'shop_sales')?.indices).toEqual([0, 1, 2, 3]);
    expect(fuzzyMatch('xyz', 'shop_sales')).toBeNull();
    expect(fuzzyMatch('sales_shop', 'shop_sales')).toBeNull();
    expect(fuzzyMatch('toolongquery', 'short')).toBeNull();
  });

  it('matches everything with an empty query', () => {
    expect(fuzzyMatch('', 'anything')).toEqual({ score: 0, indices: [] });
    expect(fuzzyMatch('   ', 'anything')).toEqual({ score: 0, indices: [] });
  });

  it('ignores whitespace in the query', () => {
    expect(fuzzyMatch('shop sales', 'shop_sales')).not.toBeNull();
  });

  it('prefers word starts over the leftmost match', () => {
    // "ss": the s of shop and the s of sales (word starts), not "sho(p)_s" greedy only
    expect(fuzzyMatch('ss', 'shop_sales')?.indices).toEqual([0, 5]);
    // "sa" should hit "sales", not the s of "shop" + a of "sales"
    expect(fuzzyMatch('sa', 'shop_sales')?.indices).toEqual([5, 6]);
  });

  it('finds camelCase boundaries', () => {
    expect(fuzzyMatch('ow', 'ordersWarehouse')?.indices).toEqual([0, 6]);
  });

  it('scores exact > prefix > word-start > scattered', () => {
    const exact = fuzzyMatch('sales', 'sales')!.score;
    const prefix = fuzzyMatch('sales', 'sales_eu')!.score;
    const word = fuzzyMatch('sales', 'shop_sales')!.score;
    const scattered = fuzzyMatch('sales', 'so_many_large_tables')!.score;
    expect(exact).toBeGreaterThan(prefix);
    expect(prefix).toBeGreaterThan(word);
    expect(word).toBeGreaterThan(scattered);
  });

  it('prefers consecutive runs', () => {
    const run = fuzzyMatch('ord', 'orders')!.score;
    const gaps = fuzzyMatch('ord', 'o_r_d')!.score;
    expect(run).toBeGreaterThan(gaps);
  });

  it('stays fast on long texts', () => {
    const text = 'a_'.repeat(500) + 'target';
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      expect(fuzzyMatch('atarget', text)).not.toBeNull();
    }
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('fuzzyFilter', () => {
  const items = [
    { name: 'shop_sales', family: 'postgres' },
    { name: 'sales', family: 'sqlite' },
    { name: 'warehouse', family: 'duckdb' },
    { name: 'marketing', family: 'postgres' }
  ];
  const texts = (i: (typeof items)[number]) => [i.name, i.family];

  it('ranks the best matches first', () => {
    expect(fuzzyFilter('sales', items, texts).map(r => r.item.name)).toEqual([
      'sales',
      'shop_sales'
    ]);
  });

  it('keeps the original order for an empty query', () => {
    expect(fuzzyFilter('', items, texts).map(r => r.item.name)).toEqual(
      items.map(i => i.name)
    );
  });

  it('matches secondary texts at a lower weight, without highlights', () => {
    const r = fuzzyFilter('postgres', items, texts);
    expect(r.map(x => x.item.name)).toEqual(['shop_sales', 'marketing']);
    expect(r[0].key).toBe(1);
    expect(r[0].indices).toEqual([]);
    // a label match beats a secondary one
    const mixed = fuzzyFilter('w', items, texts);
    expect(mixed[0].item.name).toBe('warehouse');
    expect(mixed[0].key).toBe(0);
  });

  it('accepts a single string key and a limit', () => {
    expect(fuzzyFilter('a', items, i => i.name, 2)).toHaveLength(2);
  });
});

describe('highlightRuns', () => {
  it('splits text into matched and unmatched runs', () => {
    expect(highlightRuns('shop_sales', [0, 5, 6])).toEqual([
      { text: 's', match: true },
      { text: 'hop_', match: false },
      { text: 'sa', match: true },
      { text: 'les', match: false }
    ]);
    expect(highlightRuns('abc', [])).toEqual([{ text: 'abc', match: false }]);
    expect(highlightRuns('', [])).toEqual([]);
  });
});
