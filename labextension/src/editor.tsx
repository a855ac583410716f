/**
 * The dashboard editor, one main-area tab per dashboard: a grid of widgets (drag by the
 * title bar, resize from the corner, or arrow keys / Shift+arrows on a focused widget),
 * rendered as Vega charts, metric cards, tables and notes from `.../widgets/{id}/run`;
 * edit a widget's title, query and chart type; save with a message (a version; a stale
 * version's 409 is explained); version history with restore; live reload when someone
 * else saves (WebSocket events).
 */

import { ReactWidget } from '@jupyterlab/apputils';
import { editIcon, refreshIcon } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import type { DataAskClient } from './api';
import type { ChartRenderer } from './charts';
import { useConnectionNames } from './components/AskView';
import { InlineError, useSignalStore } from './components/DashboardsView';
import { ChartView, MetricView, TableView } from './components/WidgetViews';
import {
  chartSpec,
  clampPos,
  gridRows,
  isChart,
  keyboardStep,
  pixelsToCells,
  placeWidget,
  runLimited,
  saveErrorMessage,
  WIDGET_KINDS,
  withKind
} from './dashboards';
import { DashboardsStore, toErrorInfo } from './dashboardsStore';
import type { ILiveEvent } from './events';
import { formatAgo, IErrorInfo } from './model';
import type { IDashboard, IGridPos, IRunResult, IVersion, IWidget, WidgetKind } from './types';

const GAP = 8;
const HEADER = 30;
const RUN_CONCURRENCY = 4;

type RunState =
  | { kind: 'running' }
  | { kind: 'done'; result: IRunResult }
  | { kind: 'error'; error: IErrorInfo };

type Banner = { kind: 'conflict' | 'error' | 'info' | 'remote'; text: string } | null;

export interface IEditorProps {
  client: DataAskClient;
  store: DashboardsStore;
  dashboardId: number;
  renderChart: ChartRenderer;
  confirm: (title: string, body: string, accept: string) => Promise<boolean>;
  onTitle: (name: string, dirty: boolean) => void;
  onLoaded?: () => void;
}

const sameQuery = (a: IWidget | undefined, b: IWidget | undefined) =>
  JSON.stringify(a?.query ?? null) === JSON.stringify(b?.query ?? null);

export function DashboardEditorView(props: IEditorProps): JSX.Element {
  const { client, store, dashboardId: id } = props;
  useSignalStore(store);
  const [dash, setDash] = useState<IDashboard | null>(null);
  const [loadError, setLoadError] = useState<IErrorInfo | null>(null);
  const [widgets, setWidgets] = useState<IWidget[]>([]);
  const [dirty, setDirty] = useState(false);
  const [runs, setRuns] = useState<Record<string, RunState>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [panel, setPanel] = useState<'edit' | 'history' | 'save' | null>(null);
  const [banner, setBanner] = useState<Banner>(null);
  const [saving, setSaving] = useState(false);
  const [gridWidth, setGridWidth] = useState(800);
  const wsName = store.workspaces.find(w => w.id === dash?.workspace_id)?.name;
  const connectionNames = useConnectionNames(client, wsName);
  const gridRef = useRef<HTMLDivElement>(null);
  const dashRef = useRef<IDashboard | null>(null);
  const dirtyRef = useRef(false);
  // while our own save/restore is in flight its live event may arrive before the answer
  const writing = useRef<{ seen: number } | null>(null);
  dashRef.current = dash;
  dirtyRef.current = dirty;

  const runAll = useCallback(
    (d: IDashboard, useCache = true) => {
      const runnable = d.widgets.filter(w => w.id && w.query).map(w => w.id!);
      setRuns(r => ({ ...r, ...Object.fromEntries(runnable.map(wid => [wid, { kind: 'running' } as RunState])) }));
      void runLimited(
        runnable.map(wid => () =>
          client
            .runWidget(d.id, wid, useCache)
            .then(result => setRuns(r => ({ ...r, [wid]: { kind: 'done', result } })))
            .catch(err => setRuns(r => ({ ...r, [wid]: { kind: 'error', error: toErrorInfo(err) } })))
        ),
        RUN_CONCURRENCY
      );
    },
    [client]
  );

  const show = useCallback(
    (d: IDashboard) => {
      dashRef.current = d; // now: our own save's live event must not look newer
      dirtyRef.current = false;
      setDash(d);
      setWidgets(d.widgets);
      setDirty(false);
      props.onTitle(d.name, false);
      runAll(d);
    },
    [runAll]
  );

  const load = useCallback(async () => {
    try {
      const d = await client.getDashboard(id);
      setLoadError(null);
      show(d);
      void store.viewed();
      props.onLoaded?.();
    } catch (err) {
      setLoadError(toErrorInfo(err));
    }
  }, [client, id, show]);

  useEffect(() => {
    void load();
  }, [load]);

  // live refresh: someone (maybe another tab) saved this dashboard
  useEffect(() => {
    const on = (_: unknown, ev: ILiveEvent) => {
      const cur = dashRef.current;
      if (ev.dashboard_id !== id || !cur) {
        return;
      }
      if (ev.event === 'dashboard.deleted') {
        setBanner({ kind: 'error', text: `${ev.actor ?? 'Someone'} deleted this dashboard.` });
      } else if (ev.event === 'dashboard.saved' && (ev.version ?? 0) > cur.version) {
        if (writing.current) {
          writing.current.seen = Math.max(writing.current.seen, ev.version ?? 0);
        } else if (dirtyRef.current) {
          setBanner({
            kind: 'remote',
            text: `${ev.actor ?? 'Someone'} saved version ${ev.version}. Reload to see it (your unsaved changes would be lost), or save yours as a new version after reloading.`
          });
        } else {
          void client.getDashboard(id).then(d => {
            show(d);
            setBanner({ kind: 'info', text: `Updated to version ${d.version}, saved by ${ev.actor ?? 'someone'}.` });
          });
        }
      }
    };
    store.eventReceived.connect(on);
    return () => {
      store.eventReceived.disconnect(on);
    };
  }, [store, id, show]);

  // the grid's width, for pixel <-> cell conversion and chart sizes
  useEffect(() => {
    const el = gridRef.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    // whole 8 px steps: charts redraw when the width really changed, not on every pixel
    const ro = new ResizeObserver(() => setGridWidth(Math.round(el.clientWidth / 8) * 8));
    ro.observe(el);
    setGridWidth(el.clientWidth);
    return () => ro.disconnect();
  }, [dash !== null]);

  const change = (next: IWidget[]) => {
    setWidgets(next);
    if (!dirtyRef.current) {
      setDirty(true);
      props.onTitle(dash?.name ?? '', true);
    }
  };

  if (loadError && !dash) {
    return (
      <div className="jp-DataAsk-editor">
        <div className="jp-DataAsk-empty" role="alert">
          <p className="jp-DataAsk-emptyTitle">Could not open this dashboard</p>
          <p>{loadError.message}</p>
          <button type="button" className="jp-mod-styled jp-DataAsk-button" onClick={() => void load()}>
            Retry
          </button>
        </div>
      </div>
    );
  }
  if (!dash) {
    return (
      <div className="jp-DataAsk-editor" aria-busy="true">
        <div className="jp-DataAsk-editorToolbar">
          <span className="jp-DataAsk-skeletonBlock jp-DataAsk-skeletonLine" />
        </div>
      </div>
    );
  }

  const { columns, row_height: rowHeight } = dash.layout;
  const cellWidth = (gridWidth - GAP * (columns - 1)) / columns;
  const canEdit = dash.access === 'edit' || dash.access === 'admin';
  const theme = store.workspaces.find(w => w.id === dash.workspace_id)?.theme;
  const accent = theme?.palette?.[0];
  const savedById = new Map(dash.widgets.map(w => [w.id, w]));
  const editingWidget = widgets.find(w => w.id === selected) ?? null;

  /** Run our own write; afterwards reload if someone else saved meanwhile. */
  const write = async (fn: () => Promise<IDashboard>, done: (d: IDashboard) => void) => {
    writing.current = { seen: 0 };
    try {
      const out = await fn();
      const seen = writing.current?.seen ?? 0;
      show(out);
      done(out);
      if (seen > out.version) {
        show(await client.getDashboard(id));
      }
    } finally {
      writing.current = null;
    }
  };

  const save = async (message: string) => {
    setSaving(true);
    try {
      await write(
        () =>
          client.saveDashboard(id, {
            version: dash.version,
            message,
            name: dash.name,
            description: dash.description,
            tags: dash.tags,
            folder_id: dash.folder_id,
            private: dash.private,
            layout: dash.layout,
            widgets
          }),
        out => {
          setPanel(null);
          setBanner({ kind: 'info', text: `Saved as version ${out.version}.` });
        }
      );
    } catch (err) {
      const info = toErrorInfo(err);
      setBanner({ kind: info.status === 409 ? 'conflict' : 'error', text: saveErrorMessage(info) });
    } finally {
      setSaving(false);
    }
  };

  const restore = async (v: IVersion) => {
    if (
      dirty &&
      !(await props.confirm(
        `Restore version ${v.version}?`,
        'Your unsaved changes in this tab are discarded.',
        'Restore'
      ))
    ) {
      return;
    }
    try {
      await write(
        () => client.restoreVersion(id, v.version, dash.version),
        out => setBanner({ kind: 'info', text: `Restored version ${v.version} as version ${out.version}.` })
      );
    } catch (err) {
      const info = toErrorInfo(err);
      setBanner({ kind: info.status === 409 ? 'conflict' : 'error', text: saveErrorMessage(info) });
    }
  };

  return (
    <div className="jp-DataAsk-editor" data-dashboard-id={dash.id} data-version={dash.version}>
      <div className="jp-DataAsk-editorToolbar" role="toolbar" aria-label="Dashboard">
        <h2 className="jp-DataAsk-editorTitle">
          {dash.name}
          {dirty && <span className="jp-DataAsk-dirty" title="Unsaved changes"> •</span>}
        </h2>
        <span className="jp-DataAsk-hint jp-DataAsk-versionLabel">
          version {dash.version}
          {dash.updated_by ? ` · ${dash.updated_by}` : ''}
          {dash.updated_at ? ` · ${formatAgo(dash.updated_at)}` : ''}
        </span>
        <span className="jp-DataAsk-spacer" />
        <button
          type="button"
          className="jp-DataAsk-iconButton"
          aria-label="Refresh data"
          title="Run every widget's query again"
          onClick={() => runAll({ ...dash, widgets: dash.widgets }, false)}
        >
          <refreshIcon.react tag="span" elementSize="normal" />
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-DataAsk-button"
          aria-pressed={panel === 'history'}
          onClick={() => setPanel(panel === 'history' ? null : 'history')}
        >
          History
        </button>
        {canEdit && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept jp-DataAsk-button"
            disabled={!dirty || saving}
            title={dirty ? 'Save a new version' : 'Nothing to save'}
            onClick={() => setPanel('save')}
          >
            Save…
          </button>
        )}
      </div>
      {banner && (
        <div
          className="jp-DataAsk-banner"
          data-kind={banner.kind}
          role={banner.kind === 'info' ? 'status' : 'alert'}
        >
          <span>{banner.text}</span>
          {(banner.kind === 'conflict' || banner.kind === 'remote') && (
            <button type="button" className="jp-mod-styled jp-DataAsk-button" onClick={() => void load().then(() => setBanner(null))}>
              Reload
            </button>
          )}
          <button type="button" className="jp-DataAsk-linkButton" aria-label="Dismiss" onClick={() => setBanner(null)}>
            ✕
          </button>
        </div>
      )}
      {panel === 'save' && (
        <SaveForm
          busy={saving}
          onCancel={() => setPanel(null)}
          onSave={message => void save(message)}
        />
      )}
      <div className="jp-DataAsk-editorBody">
        <div className="jp-DataAsk-gridScroll">
          {widgets.length === 0 ? (
            <div className="jp-DataAsk-empty">
              <p className="jp-DataAsk-emptyTitle">This dashboard has no widgets yet</p>
              <p>
                Ask a question in the DataAsk sidebar and press <strong>Pin to dashboard</strong>
                , or restore an earlier version from <strong>History</strong>.
              </p>
            </div>
          ) : null}
          <div
            className="jp-DataAsk-grid"
            ref={gridRef}
            style={{
              gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
              gridAutoRows: `${rowHeight}px`,
              gap: `${GAP}px`,
              minHeight: `${Math.max(1, gridRows(widgets)) * (rowHeight + GAP)}px`
            }}
          >
            {widgets.map(w => (
              <WidgetCard
                key={w.id ?? w.title}
                widget={w}
                run={w.id ? runs[w.id] : undefined}
                stale={!sameQuery(w, savedById.get(w.id))}
                canEdit={canEdit}
                selected={selected === w.id}
                cellWidth={cellWidth}
                rowHeight={rowHeight}
                columns={columns}
                theme={theme}
                accent={accent}
                renderChart={props.renderChart}
                onSelect={() => {
                  setSelected(w.id ?? null);
                  setPanel('edit');
                }}
                onPlace={(pos, base) => change(placeWidget(base ?? widgets, w.id!, pos, columns))}
                widgetsAtStart={() => widgets}
              />
            ))}
          </div>
        </div>
        {panel === 'edit' && editingWidget && (
          <WidgetEditor
            key={editingWidget.id}
            widget={editingWidget}
            connections={connectionNames}
            canEdit={canEdit}
            onClose={() => setPanel(null)}
            onApply={next => change(widgets.map(w => (w.id === next.id ? next : w)))}
            onRemove={() => {
              change(widgets.filter(w => w.id !== editingWidget.id));
              setPanel(null);
            }}
          />
        )}
        {panel === 'history' && (
          <HistoryPanel
            client={client}
            dashboard={dash}
            canEdit={canEdit}
            onRestore={v => void restore(v)}
            onClose={() => setPanel(null)}
          />
        )}
      </div>
    </div>
  );
}

function WidgetCard(props: {
  widget: IWidget;
  run: RunState | undefined;
  stale: boolean;
  canEdit: boolean;
  selected: boolean;
  cellWidth: number;
  rowHeight: number;
  columns: number;
  theme?: Record<string, any>;
  accent?: string;
  renderChart: ChartRenderer;
  onSelect: () => void;
  onPlace: (pos: IGridPos, base?: IWidget[]) => void;
  widgetsAtStart: () => IWidget[];
}): JSX.Element {
  const { widget: w, run } = props;
  const p = w.position;
  const drag = useRef<{ mode: 'move' | 'resize'; x: number; y: number; orig: IGridPos; base: IWidget[] } | null>(null);

  const start = (mode: 'move' | 'resize') => (e: React.PointerEvent) => {
    if (!props.canEdit || e.button !== 0 || (e.target as HTMLElement).closest('button')) {
      return;
    }
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
    drag.current = { mode, x: e.clientX, y: e.clientY, orig: { ...p }, base: props.widgetsAtStart() };
  };
  const move = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d) {
      return;
    }
    const cells = pixelsToCells(e.clientX - d.x, e.clientY - d.y, props.cellWidth + GAP, props.rowHeight + GAP);
    const next =
      d.mode === 'move'
        ? { ...d.orig, x: d.orig.x + cells.dx, y: d.orig.y + cells.dy }
        : { ...d.orig, w: d.orig.w + cells.dx, h: d.orig.h + cells.dy };
    const clamped = clampPos(next, props.columns);
    if (JSON.stringify(clamped) !== JSON.stringify(p)) {
      props.onPlace(clamped, d.base);
    }
  };
  const end = () => {
    drag.current = null;
  };

  const width = p.w * props.cellWidth + (p.w - 1) * GAP - 16;
  const height = p.h * props.rowHeight + (p.h - 1) * GAP - HEADER - 16;
  let body: JSX.Element;
  if (w.kind === 'text') {
    body = <div className="jp-DataAsk-note">{String(w.options?.text ?? '')}</div>;
  } else if (!run || run.kind === 'running') {
    body = <div className="jp-DataAsk-widgetLoading" aria-busy="true">Running…</div>;
  } else if (run.kind === 'error') {
    body = (
      <div className="jp-DataAsk-inlineError" role="alert">
        {run.error.message}
      </div>
    );
  } else if (w.kind === 'metric') {
    body = <MetricView columns={run.result.columns} rows={run.result.rows} format={w.options?.format} accent={props.accent} />;
  } else if (w.kind === 'table') {
    body = <TableView columns={run.result.columns} rows={run.result.rows} caption={w.title} />;
  } else {
    const spec = chartSpec(w, run.result.columns, run.result.rows, props.theme);
    spec.width = Math.max(60, Math.floor(width));
    spec.height = Math.max(40, Math.floor(height));
    body = <ChartView spec={spec} render={props.renderChart} label={`${w.kind} chart: ${w.title}`} />;
  }

  return (
    <section
      className="jp-DataAsk-widget"
      data-kind={w.kind}
      data-widget-id={w.id}
      data-selected={props.selected}
      tabIndex={0}
      aria-label={`${w.title || w.kind} (${w.kind}). ${props.canEdit ? 'Arrow keys move, Shift+arrows resize, Enter edits.' : ''}`}
      style={{ gridColumn: `${p.x + 1} / span ${p.w}`, gridRow: `${p.y + 1} / span ${p.h}` }}
      onKeyDown={e => {
        if (e.target !== e.currentTarget) {
          return;
        }
        if (e.key === 'Enter') {
          e.preventDefault();
          props.onSelect();
          return;
        }
        if (!props.canEdit) {
          return;
        }
        const next = keyboardStep(p, e.key, e.shiftKey, props.columns);
        if (next) {
          e.preventDefault();
          props.onPlace(next);
        }
      }}
    >
      <header
        className="jp-DataAsk-widgetHeader"
        onPointerDown={start('move')}
        onPointerMove={move}
        onPointerUp={end}
        onPointerCancel={end}
        style={{ cursor: props.canEdit ? 'move' : undefined }}
      >
        <span className="jp-DataAsk-widgetTitle">{w.title || w.kind}</span>
        {props.stale && <span className="jp-DataAsk-hint" title="The query changed: save to run it">edited</span>}
        {run?.kind === 'done' && run.result.truncated && <span className="jp-DataAsk-hint">first {run.result.rows.length} rows</span>}
        <button
          type="button"
          className="jp-DataAsk-iconButton"
          aria-label={`Edit widget ${w.title || w.kind}`}
          title="Edit title, query and chart type"
          onClick={props.onSelect}
        >
          <editIcon.react tag="span" elementSize="normal" />
        </button>
      </header>
      <div className="jp-DataAsk-widgetBody">{body}</div>
      {props.canEdit && (
        <div
          className="jp-DataAsk-resizeHandle"
          aria-hidden="true"
          title="Drag to resize"
          onPointerDown={start('resize')}
          onPointerMove={move}
          onPointerUp={end}
          onPointerCancel={end}
        />
      )}
    </section>
  );
}

function WidgetEditor(props: {
  widget: IWidget;
  connections: string[];
  canEdit: boolean;
  onApply: (w: IWidget) => void;
  onRemove: () => void;
  onClose: () => void;
}): JSX.Element {
  const [draft, setDraft] = useState<IWidget>(props.widget);
  const q = draft.query;
  return (
    <aside className="jp-DataAsk-sidePanel" aria-label="Edit widget">
      <form
        className="jp-DataAsk-miniForm"
        onSubmit={e => {
          e.preventDefault();
          props.onApply(draft);
          props.onClose();
        }}
      >
        <h3 className="jp-DataAsk-subheading">Edit widget</h3>
        <label className="jp-DataAsk-label">
          Title
          <input
            className="jp-mod-styled jp-DataAsk-input"
            value={draft.title}
            maxLength={200}
            disabled={!props.canEdit}
            onChange={e => setDraft({ ...draft, title: e.target.value })}
          />
        </label>
        <label className="jp-DataAsk-label">
          Chart type
          <select
            className="jp-mod-styled jp-DataAsk-select"
            value={draft.kind}
            disabled={!props.canEdit || draft.kind === 'text'}
            onChange={e => setDraft(withKind(draft, e.target.value as WidgetKind))}
          >
            {WIDGET_KINDS.filter(k => k !== 'text' || draft.kind === 'text').map(k => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        {q?.kind === 'sql' && (
          <label className="jp-DataAsk-label">
            Connection
            <select
              className="jp-mod-styled jp-DataAsk-select"
              value={q.connection}
              disabled={!props.canEdit}
              onChange={e => setDraft({ ...draft, query: { ...q, connection: e.target.value } })}
            >
              {[...new Set([q.connection, ...props.connections])].map(c => (
                <option key={c} value={c}>
                  {c}
                  {props.connections.length && !props.connections.includes(c) ? ' (not in this workspace)' : ''}
                </option>
              ))}
            </select>
          </label>
        )}
        {(q?.kind === 'sql' || q?.kind === 'federated') && (
          <label className="jp-DataAsk-label">
            Query (SQL{q.kind === 'federated' ? ', across connections' : ''})
            <textarea
              className="jp-mod-styled jp-DataAsk-input jp-DataAsk-sql"
              rows={8}
              spellCheck={false}
              value={q.sql}
              disabled={!props.canEdit}
              onChange={e => setDraft({ ...draft, query: { ...q, sql: e.target.value } })}
            />
          </label>
        )}
        {q?.kind === 'dataset' && <p className="jp-DataAsk-hint">Runs saved dataset #{q.dataset_id}.</p>}
        {draft.kind === 'metric' && (
          <label className="jp-DataAsk-label">
            Number format
            <input
              className="jp-mod-styled jp-DataAsk-input"
              placeholder="e.g. $,.0f  ,d  .1%"
              value={String(draft.options?.format ?? '')}
              disabled={!props.canEdit}
              onChange={e => setDraft({ ...draft, options: { ...(draft.options ?? {}), format: e.target.value } })}
            />
          </label>
        )}
        {draft.kind === 'text' && (
          <label className="jp-DataAsk-label">
            Text
            <textarea
              className="jp-mod-styled jp-DataAsk-input"
              rows={5}
              value={String(draft.options?.text ?? '')}
              disabled={!props.canEdit}
              onChange={e => setDraft({ ...draft, options: { ...(draft.options ?? {}), text: e.target.value } })}
            />
          </label>
        )}
        {isChart(draft.kind) && <p className="jp-DataAsk-hint">Charts use the first text or date column as x and the first number as y unless the widget has its own encoding.</p>}
        <p className="jp-DataAsk-hint">Changes apply to this tab; <strong>Save…</strong> makes them a version.</p>
        <div className="jp-DataAsk-formButtons">
          {props.canEdit && (
            <button type="button" className="jp-mod-styled jp-mod-warn jp-DataAsk-button" onClick={props.onRemove}>
              Remove
            </button>
          )}
          <button type="button" className="jp-mod-styled jp-mod-reject jp-DataAsk-button" onClick={props.onClose}>
            Close
          </button>
          {props.canEdit && (
            <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button">
              Apply
            </button>
          )}
        </div>
      </form>
    </aside>
  );
}

function SaveForm(props: { busy: boolean; onSave: (message: string) => void; onCancel: () => void }): JSX.Element {
  const [message, setMessage] = useState('');
  return (
    <form
      className="jp-DataAsk-saveForm"
      aria-label="Save a version"
      onSubmit={e => {
        e.preventDefault();
        props.onSave(message.trim());
      }}
    >
      <label className="jp-DataAsk-label">
        What changed? (saved with the version)
        <input
          autoFocus
          className="jp-mod-styled jp-DataAsk-input"
          maxLength={500}
          placeholder="e.g. Bigger revenue chart"
          value={message}
          onChange={e => setMessage(e.target.value)}
          onKeyDown={e => e.key === 'Escape' && props.onCancel()}
        />
      </label>
      <button type="button" className="jp-mod-styled jp-mod-reject jp-DataAsk-button" onClick={props.onCancel}>
        Cancel
      </button>
      <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button" disabled={props.busy}>
        {props.busy ? 'Saving…' : 'Save version'}
      </button>
    </form>
  );
}

function HistoryPanel(props: {
  client: DataAskClient;
  dashboard: IDashboard;
  canEdit: boolean;
  onRestore: (v: IVersion) => void;
  onClose: () => void;
}): JSX.Element {
  const [versions, setVersions] = useState<IVersion[] | null>(null);
  const [error, setError] = useState<IErrorInfo | null>(null);
  useEffect(() => {
    let live = true;
    props.client
      .listVersions(props.dashboard.id)
      .then(v => live && setVersions(v))
      .catch(err => live && setError(toErrorInfo(err)));
    return () => {
      live = false;
    };
  }, [props.dashboard.id, props.dashboard.version]);
  return (
    <aside className="jp-DataAsk-sidePanel" aria-label="Version history">
      <div className="jp-DataAsk-panelHeader">
        <h3 className="jp-DataAsk-subheading">Version history</h3>
        <button type="button" className="jp-DataAsk-linkButton" aria-label="Close history" onClick={props.onClose}>
          ✕
        </button>
      </div>
      <InlineError error={error} />
      {versions === null && !error && <p className="jp-DataAsk-hint">Loading…</p>}
      <ol className="jp-DataAsk-versions">
        {(versions ?? []).map(v => (
          <li key={v.version} className="jp-DataAsk-version" data-version={v.version}>
            <div>
              <strong>Version {v.version}</strong>
              {v.version === props.dashboard.version && <span className="jp-DataAsk-hint"> (current)</span>}
            </div>
            <div className="jp-DataAsk-hint">
              {v.author} · {formatAgo(v.created_at)}
              {v.restored_from ? ` · restored from ${v.restored_from}` : ''}
            </div>
            {v.message && <div className="jp-DataAsk-versionMessage">{v.message}</div>}
            {props.canEdit && v.version !== props.dashboard.version && (
              <button
                type="button"
                className="jp-mod-styled jp-DataAsk-button"
                aria-label={`Restore version ${v.version}`}
                onClick={() => props.onRestore(v)}
              >
                Restore
              </button>
            )}
          </li>
        ))}
      </ol>
    </aside>
  );
}

/** The Lumino widget of one dashboard tab. */
export class DashboardEditor extends ReactWidget {
  constructor(readonly options: Omit<IEditorProps, 'onTitle'>) {
    super();
    this.id = DashboardEditor.widgetId(options.dashboardId);
    this.addClass('jp-DataAsk-editorWidget');
    this.title.label = 'Dashboard';
    this.title.closable = true;
  }

  static widgetId(dashboardId: number): string {
    return `dataask-dashboard-${dashboardId}`;
  }

  get dashboardId(): number {
    return this.options.dashboardId;
  }

  protected render(): JSX.Element {
    return (
      <DashboardEditorView
        {...this.options}
        onTitle={(name, dirty) => {
          this.title.label = name || 'Dashboard';
          this.title.caption = `DataAsk dashboard “${name}”${dirty ? ' (unsaved changes)' : ''}`;
          this.title.className = dirty ? 'jp-mod-dirty' : '';
        }}
      />
    );
  }
}
