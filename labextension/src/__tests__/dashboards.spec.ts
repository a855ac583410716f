import { describe, expect, it } from 'vitest';

import {
  allTags,
  answerKind,
  answerToWidget,
  buildTree,
  cellSource,
  chartSpec,
  clampPos,
  columnType,
  compact,
  folderPath,
  formatValue,
  keyboardStep,
  matchesFilter,
  moveTargets,
  nextFreePosition,
  overlaps,
  pixelsToCells,
  placeWidget,
  runLimited,
  recentsFor,
  saveErrorMessage,
  thumbnailRects,
  uniqueName,
  validateItemName,
  withKind
} from '../dashboards';
import type { IAskResult, IDashboardSummary, IFolder, IWidget } from '../types';

const folder = (id: number, name: string, parent_id: number | null = null): IFolder => ({
  id,
  workspace_id: 1,
  name,
  parent_id
});

const dash = (id: number, name: string, folder_id: number | null = null, tags: string[] = []): IDashboardSummary => ({
  id,
  workspace_id: 1,
  name,
  description: '',
  tags,
  folder_id,
  owner: 'me',
  private: false,
  template: 'blank',
  version: 1,
  widget_count: 0
});

const widget = (id: string, x: number, y: number, w: number, h: number): IWidget => ({
  id,
  kind: 'table',
  title: id,
  query: { kind: 'federated', sql: 'SELECT 1' },
  position: { x, y, w, h }
});

describe('tree and search', () => {
  const folders = [folder(1, 'Team'), folder(2, 'Sales', 1), folder(3, 'Archive')];
  const dashboards = [
    dash(10, 'Revenue', 2, ['sales']),
    dash(11, 'churn', 1, ['growth']),
    dash(12, 'Overview'),
    dash(13, 'Lost', 99)
  ];

  it('nests folders and dashboards, sorted by name, unknown folders at the top', () => {
    const root = buildTree(folders, dashboards);
    expect(root.folders.map(n => n.folder!.name)).toEqual(['Archive', 'Team']);
    expect(root.dashboards.map(d => d.name)).toEqual(['Lost', 'Overview']);
    const team = root.folders[1];
    expect(team.dashboards.map(d => d.name)).toEqual(['churn']);
    expect(team.folders[0].dashboards.map(d => d.name)).toEqual(['Revenue']);
    expect(root.count).toBe(4);
    expect(team.count).toBe(2);
  });

  it('filters by words and tag, keeping only folders that lead to matches', () => {
    const root = buildTree(folders, dashboards, { text: 'rev', tag: null });
    expect(root.dashboards).toEqual([]);
    expect(root.folders.map(n => n.folder!.name)).toEqual(['Team']);
    expect(root.folders[0].folders[0].dashboards.map(d => d.id)).toEqual([10]);
    const tagged = buildTree(folders, dashboards, { text: '', tag: 'growth' });
    expect(tagged.count).toBe(1);
    expect(matchesFilter(dash(1, 'Revenue by month'), { text: 'month REV', tag: null })).toBe(true);
    expect(matchesFilter(dash(1, 'Revenue'), { text: 'cost', tag: null })).toBe(false);
    expect(allTags(dashboards)).toEqual(['growth', 'sales']);
  });

  it('survives a folder cycle', () => {
    const root = buildTree([folder(1, 'A', 2), folder(2, 'B', 1)], [dash(1, 'x', 1)]);
    expect(root.count).toBe(1);
  });

  it('offers move targets without the folder itself or its descendants', () => {
    const targets = moveTargets(folders, { kind: 'folder', id: 1 });
    expect(targets.map(t => t.label)).toEqual(['Top level', 'Archive']);
    expect(moveTargets(folders, { kind: 'dashboard', id: 10 }).map(t => t.label)).toEqual([
      'Top level',
      'Archive',
      'Team',
      'Team / Sales'
    ]);
    expect(folderPath(folders, 2)).toBe('Team / Sales');
    expect(folderPath(folders, null)).toBe('Top level');
  });

  it('lists recents of the workspace that still exist, newest first', () => {
    const recents = [
      { dashboard_id: 10, workspace_id: 1, name: 'Revenue', viewed_at: '2026-01-01T10:00:00Z' },
      { dashboard_id: 12, workspace_id: 1, name: 'Overview', viewed_at: '2026-01-02T10:00:00Z' },
      { dashboard_id: 99, workspace_id: 1, name: 'gone', viewed_at: '2026-01-03T10:00:00Z' },
      { dashboard_id: 11, workspace_id: 2, name: 'other ws', viewed_at: '2026-01-04T10:00:00Z' }
    ];
    expect(recentsFor(recents, 1, dashboards).map(d => d.id)).toEqual([12, 10]);
  });

  it('makes unique names and validates them', () => {
    expect(uniqueName('Sales', ['sales', 'Sales (2)'])).toBe('Sales (3)');
    expect(uniqueName('New', [])).toBe('New');
    expect(validateItemName('  ')).toMatch(/Enter a name/);
    expect(validateItemName('a\u0001')).toMatch(/control/);
    expect(validateItemName('ok')).toBeNull();
  });
});

describe('grid layout', () => {
  it('clamps positions into the grid', () => {
    expect(clampPos({ x: 11, y: -2, w: 4, h: 0 }, 12)).toEqual({ x: 8, y: 0, w: 4, h: 1 });
    expect(clampPos({ x: 0, y: 0, w: 40, h: 3 }, 12)).toEqual({ x: 0, y: 0, w: 12, h: 3 });
  });

  it('pushes colliding widgets down and compacts upwards', () => {
    const ws = [widget('a', 0, 0, 6, 2), widget('b', 6, 0, 6, 2), widget('c', 0, 2, 12, 2)];
    const moved = placeWidget(ws, 'b', { x: 0, y: 0, w: 6, h: 2 }, 12);
    const pos = Object.fromEntries(moved.map(w => [w.id, w.position]));
    expect(pos.b).toEqual({ x: 0, y: 0, w: 6, h: 2 });
    for (const a of moved) {
      for (const b of moved) {
        if (a !== b) {
          expect(overlaps(a.position, b.position)).toBe(false);
        }
      }
    }
    expect(pos.a.y).toBe(2);
    expect(ws[1].position.x).toBe(6); // input untouched
  });

  it('grows a widget and moves the one below', () => {
    const ws = [widget('a', 0, 0, 12, 2), widget('b', 0, 2, 12, 2)];
    const grown = placeWidget(ws, 'a', { x: 0, y: 0, w: 12, h: 4 }, 12);
    expect(grown.find(w => w.id === 'b')!.position.y).toBe(4);
  });

  it('a grown card pushes its neighbour just below it, and that one the rest (no leapfrogging)', () => {
    const ws = [
      widget('rev', 0, 0, 3, 2),
      widget('orders', 3, 0, 3, 2),
      widget('line', 0, 2, 8, 4),
      widget('table', 0, 6, 12, 4)
    ];
    const out = placeWidget(ws, 'rev', { x: 0, y: 0, w: 4, h: 2 }, 12);
    const pos = Object.fromEntries(out.map(w => [w.id, w.position]));
    expect(pos.rev).toEqual({ x: 0, y: 0, w: 4, h: 2 });
    expect(pos.orders).toEqual({ x: 3, y: 2, w: 3, h: 2 });
    expect(pos.line.y).toBe(4);
    expect(pos.table.y).toBe(8);
  });

  it('floats widgets up into gaps', () => {
    expect(compact([widget('a', 0, 5, 4, 2)])[0].position.y).toBe(0);
  });

  it('places new widgets below and converts pixels and keys', () => {
    expect(nextFreePosition([widget('a', 0, 0, 4, 3)], 6, 4, 12)).toEqual({ x: 0, y: 3, w: 6, h: 4 });
    expect(pixelsToCells(130, -95, 100, 80)).toEqual({ dx: 1, dy: -1 });
    expect(keyboardStep({ x: 0, y: 0, w: 2, h: 2 }, 'ArrowRight', false, 12)).toEqual({ x: 1, y: 0, w: 2, h: 2 });
    expect(keyboardStep({ x: 0, y: 0, w: 2, h: 2 }, 'ArrowDown', true, 12)).toEqual({ x: 0, y: 0, w: 2, h: 3 });
    expect(keyboardStep({ x: 0, y: 0, w: 2, h: 2 }, 'ArrowLeft', false, 12)).toEqual({ x: 0, y: 0, w: 2, h: 2 });
    expect(keyboardStep({ x: 0, y: 0, w: 2, h: 2 }, 'Enter', false, 12)).toBeNull();
  });
});

describe('charts and values', () => {
  const columns = ['month', 'revenue'];
  const rows = [
    ['2025-01-01', 10],
    ['2025-02-01', 12.5]
  ];

  it('guesses column types', () => {
    expect(columnType([1, 2.5, null])).toBe('quantitative');
    expect(columnType(['2025-01-01', '2025-02-01T00:00:00'])).toBe('temporal');
    expect(columnType(['web', 'store'])).toBe('nominal');
  });

  it('builds a default spec with inline data and the theme palette', () => {
    const spec = chartSpec({ kind: 'line', spec: null, title: 't' }, columns, rows, { palette: ['#112233'] });
    expect(spec.mark.type).toBe('line');
    expect(spec.encoding.x).toEqual({ field: 'month', type: 'temporal' });
    expect(spec.encoding.y).toEqual({ field: 'revenue', type: 'quantitative' });
    expect(spec.data.values).toEqual([
      { month: '2025-01-01', revenue: 10 },
      { month: '2025-02-01', revenue: 12.5 }
    ]);
    expect(spec.config.range.category).toEqual(['#112233']);
  });

  it('keeps a saved encoding, switches its mark, and rebuilds it for pies', () => {
    const saved = {
      mark: 'line',
      encoding: { x: { field: 'month', type: 'temporal' }, y: { field: 'revenue', type: 'quantitative' } },
      data: { values: [{ stale: 1 }] }
    };
    const bar = chartSpec({ kind: 'bar', spec: saved, title: '' }, columns, rows);
    expect(bar.mark.type).toBe('bar');
    expect(bar.encoding).toEqual(saved.encoding);
    expect(bar.data.values).toHaveLength(2);
    const pie = chartSpec({ kind: 'pie', spec: saved, title: '' }, columns, rows);
    expect(pie.mark.type).toBe('arc');
    expect(pie.encoding.theta.field).toBe('revenue');
    expect(pie.encoding.color.field).toBe('month');
    const missing = chartSpec(
      { kind: 'bar', spec: { mark: 'bar', encoding: { x: { field: 'gone' } } }, title: '' },
      columns,
      rows
    );
    expect(missing.encoding.x.field).toBe('month');
  });

  it('drops anything that could fetch a URL or make a link', () => {
    const spec = chartSpec(
      {
        kind: 'bar',
        title: '',
        spec: {
          mark: { type: 'bar', href: 'javascript:alert(1)' },
          encoding: {
            x: { field: 'month', type: 'temporal' },
            y: { field: 'revenue', type: 'quantitative' },
            href: { value: 'javascript:alert(1)' }
          },
          transform: [{ lookup: 'month', from: { data: { url: 'https://evil.example/x.csv' }, key: 'm' } }],
          data: { url: 'file:///etc/passwd' }
        }
      },
      columns,
      rows
    );
    const text = JSON.stringify(spec);
    expect(text).not.toContain('javascript:');
    expect(text).not.toContain('evil.example');
    expect(text).not.toContain('/etc/passwd');
    expect(spec.data.values).toHaveLength(2);
  });

  it('changes a widget kind', () => {
    const w: IWidget = { ...widget('a', 0, 0, 4, 4), kind: 'line', spec: { mark: 'line', encoding: {} } };
    expect(withKind(w, 'bar').spec!.mark).toEqual({ type: 'bar' });
    expect(withKind(w, 'pie').spec).toBeNull();
    expect(withKind(w, 'table').spec).toBeNull();
    expect(withKind(w, 'text').query).toBeNull();
  });

  it('formats metric values', () => {
    expect(formatValue(1234567.891, '$,.0f')).toBe('$1,234,568');
    expect(formatValue(1234, ',d')).toBe('1,234');
    expect(formatValue(0.1234, '.1%')).toBe('12.3%');
    expect(formatValue(-5.5, '$,.2f')).toBe('-$5.50');
    expect(formatValue(2.5)).toBe('2.5');
    expect(formatValue(null)).toBe('–');
    expect(formatValue('web', ',d')).toBe('web');
  });
});

describe('running widgets', () => {
  it('keeps at most `limit` queries in flight and runs them all, failures included', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    const tasks = Array.from({ length: 10 }, (_, i) => async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise(r => setTimeout(r, 2));
      inFlight--;
      done.push(i);
      if (i === 3) {
        throw new Error('boom');
      }
    });
    await runLimited(tasks, 3);
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await runLimited([], 3);
  });
});

describe('answers', () => {
  const answer: IAskResult = {
    question: 'revenue by channel',
    sql: 'SELECT channel, SUM(amount) FROM orders GROUP BY 1',
    federated: false,
    engine: 'offline',
    columns: ['channel', 'revenue'],
    rows: [['web', 10]],
    row_count: 1,
    chart: { mark: { type: 'bar' }, encoding: {}, data: { values: [] }, usermeta: { dataask: { chart: 'bar' } } },
    insights: [],
    attempts: 1,
    connections: ['shop_sales'],
    truncated: false
  };

  it('pins an answer as a widget on its connection, below the others, without data', () => {
    const w = answerToWidget(answer, [widget('a', 0, 0, 12, 3)]);
    expect(w.kind).toBe('bar');
    expect(w.query).toEqual({ kind: 'sql', connection: 'shop_sales', sql: answer.sql });
    expect(w.position).toEqual({ x: 0, y: 3, w: 6, h: 4 });
    expect(w.spec!.data).toBeUndefined();
    expect(w.title).toBe('revenue by channel');
    const fed = answerToWidget({ ...answer, federated: true, connections: ['a', 'b'] }, []);
    expect(fed.query).toEqual({ kind: 'federated', sql: answer.sql });
  });

  it('chooses metric or table without a chart', () => {
    expect(answerKind({ chart: null, columns: ['n'], rows: [[3]] })).toBe('metric');
    expect(answerKind({ chart: null, columns: ['a', 'b'], rows: [[1, 2]] })).toBe('table');
    expect(answerKind({ chart: { mark: 'point' }, columns: [], rows: [] })).toBe('scatter');
  });

  it('writes the notebook cell', () => {
    expect(cellSource(answer, 'ask')).toBe('%%ask\nrevenue by channel');
    expect(cellSource(answer, 'federate')).toBe(`%%federate\n${answer.sql}`);
    expect(cellSource({ ...answer, federate_sql: 'SELECT 1 FROM shop_sales.orders' }, 'federate')).toBe(
      '%%federate\nSELECT 1 FROM shop_sales.orders'
    );
  });

  it('explains a 409', () => {
    expect(saveErrorMessage({ status: 409, message: 'conflict' })).toMatch(/Someone else saved/);
    expect(saveErrorMessage({ status: 400, message: 'bad' })).toBe('bad');
  });

  it('scales thumbnails', () => {
    const rects = thumbnailRects([widget('a', 6, 0, 6, 2)], { columns: 12, row_height: 80 }, 120, 100);
    expect(rects[0].x).toBe(60);
    expect(rects[0].w).toBe(60);
    const tall = thumbnailRects([widget('a', 0, 0, 12, 2), widget('b', 0, 20, 4, 2)], { columns: 12, row_height: 80 }, 120, 110);
    expect(tall).toHaveLength(2);
    expect(tall[1].y + tall[1].h).toBeLessThanOrEqual(110);
  });
});
