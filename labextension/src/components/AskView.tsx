/**
 * The Ask section: type a question, see the SQL, the table and the chart; insert it into
 * the active notebook as a `%%ask` or `%%federate` cell, or pin it to a dashboard.
 */

import React, { useEffect, useRef, useState } from 'react';

import type { DataAskClient } from '../api';
import type { ChartRenderer } from '../charts';
import { answerKind, answerToWidget, cellSource, chartSpec, isChart } from '../dashboards';
import type { DashboardsStore } from '../dashboardsStore';
import { toErrorInfo } from '../dashboardsStore';
import type { IErrorInfo } from '../model';
import type { IAskResult } from '../types';
import { InlineError, useSignalStore } from './DashboardsView';
import { ChartView, TableView } from './WidgetViews';

export interface IAskViewProps {
  client: DataAskClient;
  store: DashboardsStore;
  renderChart: ChartRenderer;
  /** Insert a cell into the active notebook; throws with a message when there is none. */
  insertCell: (source: string) => string;
  onOpenDashboard: (id: number) => void;
}

type Note = { kind: 'ok' | 'error'; text: string; dashboardId?: number } | null;

/** Connection names of a workspace (empty while loading or on error). */
export function useConnectionNames(client: DataAskClient, workspace: string | undefined): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    setNames([]);
    if (workspace) {
      client
        .listConnections({ workspace })
        .then(list => live && setNames(list.connections.map(c => c.name)))
        .catch(() => undefined);
    }
    return () => {
      live = false;
    };
  }, [client, workspace]);
  return names;
}

export function AskView(props: IAskViewProps): JSX.Element {
  const { client, store } = props;
  useSignalStore(store);
  const [question, setQuestion] = useState('');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<IAskResult | null>(null);
  const [error, setError] = useState<IErrorInfo | null>(null);
  const [target, setTarget] = useState<string>('');
  const [note, setNote] = useState<Note>(null);
  const [pinning, setPinning] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const ws = store.workspace;
  const connections = useConnectionNames(client, ws?.name);
  const [only, setOnly] = useState('');
  const onlyValid = connections.includes(only) ? only : '';
  const dashboards = store.dashboards;
  const pinTo = target || (dashboards[0] ? String(dashboards[0].id) : '');

  const ask = async () => {
    const q = question.trim();
    if (!q) {
      setError({ code: 'empty', message: 'Type a question first, e.g. “revenue by channel”.' });
      return;
    }
    abort.current?.abort();
    const ctrl = new AbortController();
    abort.current = ctrl;
    setRunning(true);
    setError(null);
    setNote(null);
    try {
      const out = await client.ask(q, {
        workspace: ws?.id,
        connections: onlyValid ? [onlyValid] : undefined,
        signal: ctrl.signal
      });
      setResult(out);
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') {
        setResult(null);
        setError(toErrorInfo(err));
      }
    } finally {
      if (abort.current === ctrl) {
        setRunning(false);
      }
    }
  };

  const insert = (mode: 'ask' | 'federate') => {
    if (!result) {
      return;
    }
    try {
      const where = props.insertCell(cellSource(result, mode));
      setNote({ kind: 'ok', text: `Inserted a %%${mode} cell into ${where}.` });
    } catch (err) {
      setNote({ kind: 'error', text: (err as Error).message });
    }
  };

  const pin = async () => {
    if (!result || !pinTo) {
      return;
    }
    setPinning(true);
    setNote(null);
    try {
      const id = Number(pinTo);
      const dash = await client.getDashboard(id);
      const widget = answerToWidget(result, dash.widgets, dash.layout);
      await client.addWidget(id, widget, dash.version, `Pinned “${result.question.slice(0, 100)}”`);
      setNote({ kind: 'ok', text: `Pinned to “${dash.name}”.`, dashboardId: id });
      void store.refresh();
    } catch (err) {
      setNote({ kind: 'error', text: toErrorInfo(err).message });
    } finally {
      setPinning(false);
    }
  };

  const kind = result ? answerKind(result) : null;
  const spec =
    result && result.chart && kind && isChart(kind)
      ? { ...chartSpec({ kind, spec: result.chart, title: '' }, result.columns, result.rows), width: 'container', height: 180 }
      : null;

  return (
    <div className="jp-DataAsk-ask">
      <form
        className="jp-DataAsk-askForm"
        onSubmit={e => {
          e.preventDefault();
          void ask();
        }}
      >
        <label className="jp-DataAsk-label" htmlFor="dataask-ask-input">
          Ask a question about your data{ws ? ` (workspace ${ws.name})` : ''}
        </label>
        <textarea
          id="dataask-ask-input"
          className="jp-mod-styled jp-DataAsk-input jp-DataAsk-askInput"
          rows={2}
          placeholder="e.g. revenue by channel"
          value={question}
          aria-describedby="dataask-ask-hint"
          onChange={e => setQuestion(e.target.value)}
          onKeyDown={e => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void ask();
            }
          }}
        />
        {connections.length > 1 && (
          <select
            className="jp-mod-styled jp-DataAsk-select"
            aria-label="Connections to ask"
            value={onlyValid}
            onChange={e => setOnly(e.target.value)}
          >
            <option value="">All connections</option>
            {connections.map(c => (
              <option key={c} value={c}>
                Only {c}
              </option>
            ))}
          </select>
        )}
        <div className="jp-DataAsk-formButtons">
          <span id="dataask-ask-hint" className="jp-DataAsk-hint">
            Enter asks · Shift+Enter for a new line
          </span>
          <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button" disabled={running}>
            {running ? 'Asking…' : 'Ask'}
          </button>
        </div>
      </form>
      <InlineError error={error} />
      {result && (
        <div className="jp-DataAsk-answer" aria-live="polite">
          <details className="jp-DataAsk-sqlDetails" open>
            <summary>
              SQL{result.federated ? ' (federated)' : ''} · {result.engine}
            </summary>
            <pre className="jp-DataAsk-sqlText">{result.sql}</pre>
          </details>
          {spec && <ChartView spec={spec} render={props.renderChart} label={`Chart: ${result.question}`} />}
          <TableView columns={result.columns} rows={result.rows} maxRows={20} caption={result.question} />
          <div className="jp-DataAsk-hint">
            {result.row_count} row{result.row_count === 1 ? '' : 's'}
            {result.truncated ? ` (first ${result.rows.length} shown)` : ''}
          </div>
          {result.insights.length > 0 && (
            <ul className="jp-DataAsk-insights">
              {result.insights.map((t, i) => (
                <li key={i}>{t}</li>
              ))}
            </ul>
          )}
          <div className="jp-DataAsk-toolbarRow">
            <button type="button" className="jp-mod-styled jp-DataAsk-button" onClick={() => insert('ask')}>
              Insert as cell
            </button>
            <button
              type="button"
              className="jp-mod-styled jp-DataAsk-button"
              title="Insert the SQL as a %%federate cell"
              onClick={() => insert('federate')}
            >
              Insert SQL cell
            </button>
          </div>
          <div className="jp-DataAsk-toolbarRow">
            {dashboards.length > 0 ? (
              <>
                <select
                  className="jp-mod-styled jp-DataAsk-select"
                  aria-label="Dashboard to pin to"
                  value={pinTo}
                  onChange={e => setTarget(e.target.value)}
                >
                  {dashboards.map(d => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  className="jp-mod-styled jp-mod-accept jp-DataAsk-button"
                  disabled={pinning}
                  onClick={() => void pin()}
                >
                  {pinning ? 'Pinning…' : 'Pin to dashboard'}
                </button>
              </>
            ) : (
              <span className="jp-DataAsk-hint">Create a dashboard above to pin answers to it.</span>
            )}
          </div>
          {note && (
            <div className={note.kind === 'error' ? 'jp-DataAsk-inlineError' : 'jp-DataAsk-okNote'} role={note.kind === 'error' ? 'alert' : 'status'}>
              {note.text}{' '}
              {note.dashboardId !== undefined && (
                <button type="button" className="jp-DataAsk-linkButton" onClick={() => props.onOpenDashboard(note.dashboardId!)}>
                  Open
                </button>
              )}
            </div>
          )}
        </div>
      )}
      {!result && !error && !running && (
        <p className="jp-DataAsk-hint">
          Questions run on the connections of the current workspace with the offline engine
          (or your configured model). You get the SQL, the rows and a chart.
        </p>
      )}
    </div>
  );
}
