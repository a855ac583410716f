/**
 * The Connections section: a list with live status badges, per-row Test and Remove, the
 * add form, a skeleton while loading and an empty state that says what to do next.
 */

import { deleteIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useReducer, useState } from 'react';

import {
  connectionTooltip,
  formatLatency,
  formatLatencyCompact,
  IErrorInfo,
  statusLabel
} from '../model';
import type { ConnectionsStore, TestState } from '../store';
import type { HealthStatus, IConnectionInfo } from '../types';
import { AddConnectionForm } from './AddConnectionForm';

const SKELETON_ROWS = 3;

/** Re-render whenever the store changes. */
function useStore(store: ConnectionsStore): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const onChange = () => bump();
    store.changed.connect(onChange);
    return () => {
      store.changed.disconnect(onChange);
    };
  }, [store]);
}

export function StatusBadge(props: { status: HealthStatus }): JSX.Element {
  const label = statusLabel(props.status);
  return (
    <span className="jp-DataAsk-badge" data-status={label}>
      <span className="jp-DataAsk-visuallyHidden">Status: </span>
      {label}
    </span>
  );
}

function testSummary(state: TestState | undefined): {
  text: string;
  kind: string;
} | null {
  if (!state) {
    return null;
  }
  if (state.kind === 'running') {
    return { text: 'Testing…', kind: 'running' };
  }
  if (state.kind === 'error') {
    return { text: `Test failed: ${state.error.message}`, kind: 'error' };
  }
  const r = state.result;
  return r.ok
    ? { text: `Test OK in ${formatLatency(r.latency_ms)}`, kind: 'ok' }
    : { text: `Test failed: ${r.message ?? 'no answer'}`, kind: 'error' };
}

interface IRowProps {
  conn: IConnectionInfo;
  test: TestState | undefined;
  error: IErrorInfo | undefined;
  onTest: (name: string) => void;
  onRemove: (name: string) => void;
}

function ConnectionRow(props: IRowProps): JSX.Element {
  const { conn, test, error } = props;
  const summary = error
    ? { text: error.message, kind: 'error' }
    : testSummary(test);
  const h = conn.health;
  const meta =
    summary?.text ??
    (h.latency_p50_ms === null && h.latency_p95_ms === null
      ? conn.family
      : `${conn.family} · ${formatLatencyCompact(h.latency_p50_ms, h.latency_p95_ms)}`);
  const tooltip = connectionTooltip(conn);
  return (
    <li
      className="jp-DataAsk-connection"
      data-name={conn.name}
      data-status={conn.health.status}
      tabIndex={0}
      title={tooltip}
      aria-label={`${conn.name}, ${conn.family}, ${statusLabel(conn.health.status)}`}
      onKeyDown={e => {
        if (e.target !== e.currentTarget) {
          return;
        }
        if (e.key === 'Delete' || e.key === 'Backspace') {
          e.preventDefault();
          props.onRemove(conn.name);
        } else if (e.key === 'Enter') {
          e.preventDefault();
          props.onTest(conn.name);
        }
      }}
    >
      <StatusBadge status={conn.health.status} />
      <div className="jp-DataAsk-connectionText">
        <span className="jp-DataAsk-connectionName">{conn.name}</span>
        <span
          className="jp-DataAsk-connectionMeta"
          data-kind={summary?.kind ?? 'latency'}
          role="status"
          aria-live="polite"
        >
          {meta}
        </span>
      </div>
      <div className="jp-DataAsk-connectionActions">
        <button
          type="button"
          className="jp-mod-styled jp-DataAsk-button jp-DataAsk-rowButton"
          disabled={test?.kind === 'running'}
          aria-label={`Test connection ${conn.name}`}
          title={`Test ${conn.name} now`}
          onClick={() => props.onTest(conn.name)}
        >
          Test
        </button>
        <button
          type="button"
          className="jp-DataAsk-iconButton"
          aria-label={`Remove connection ${conn.name}`}
          title={`Remove ${conn.name}…`}
          onClick={() => props.onRemove(conn.name)}
        >
          <deleteIcon.react tag="span" elementSize="normal" />
        </button>
      </div>
    </li>
  );
}

function Skeleton(): JSX.Element {
  return (
    <ul className="jp-DataAsk-list" aria-hidden="true">
      {Array.from({ length: SKELETON_ROWS }, (_, i) => (
        <li key={i} className="jp-DataAsk-connection jp-DataAsk-skeleton">
          <span className="jp-DataAsk-skeletonBlock jp-DataAsk-skeletonBadge" />
          <div className="jp-DataAsk-connectionText">
            <span className="jp-DataAsk-skeletonBlock jp-DataAsk-skeletonLine" />
            <span className="jp-DataAsk-skeletonBlock jp-DataAsk-skeletonLine jp-mod-short" />
          </div>
        </li>
      ))}
    </ul>
  );
}

function EmptyState(props: { onAdd: () => void }): JSX.Element {
  return (
    <div className="jp-DataAsk-empty">
      <p className="jp-DataAsk-emptyTitle">No connections yet</p>
      <p>
        Connect a database to ask questions about it and build dashboards. Try a
        SQLite file (<code>sqlite:///path/to/file.db</code>) or PostgreSQL (
        <code>postgresql://user@host/db</code>).
      </p>
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept jp-DataAsk-button"
        onClick={props.onAdd}
      >
        Add connection
      </button>
      <p className="jp-DataAsk-hint">
        Or in a notebook: <code>%dataask connect NAME URL</code>
      </p>
    </div>
  );
}

export interface IConnectionsViewProps {
  store: ConnectionsStore;
  formOpen: boolean;
  onOpenForm: () => void;
  onCloseForm: (saved: IConnectionInfo | null) => void;
  onRemove: (name: string) => Promise<void>;
}

export function ConnectionsView(props: IConnectionsViewProps): JSX.Element {
  const { store } = props;
  useStore(store);
  const [rowErrors, setRowErrors] = useState<Record<string, IErrorInfo>>({});

  const clearRowError = (name: string) =>
    setRowErrors(({ [name]: _, ...rest }) => rest);

  const onTest = (name: string) => {
    clearRowError(name);
    void store.test(name);
  };
  const onRemove = async (name: string) => {
    clearRowError(name);
    try {
      await props.onRemove(name);
    } catch (err) {
      const e = err as { code?: string; message?: string; status?: number };
      setRowErrors(prev => ({
        ...prev,
        [name]: {
          code: e.code ?? 'error',
          message: `Not removed: ${e.message ?? String(err)}`,
          status: e.status
        }
      }));
    }
  };

  let body: JSX.Element;
  if (store.loadState === 'loading') {
    body = <Skeleton />;
  } else if (store.loadState === 'error' && store.connections.length === 0) {
    body = (
      <div className="jp-DataAsk-loadError" role="alert">
        <p>Could not load connections: {store.loadError?.message}</p>
        <button
          type="button"
          className="jp-mod-styled jp-DataAsk-button"
          onClick={() => void store.refresh()}
        >
          Retry
        </button>
      </div>
    );
  } else if (store.connections.length === 0) {
    body = props.formOpen ? <></> : <EmptyState onAdd={props.onOpenForm} />;
  } else {
    body = (
      <ul className="jp-DataAsk-list" aria-label="Connections">
        {store.connections.map(conn => (
          <ConnectionRow
            key={conn.name}
            conn={conn}
            test={store.testState(conn.name)}
            error={rowErrors[conn.name]}
            onTest={onTest}
            onRemove={name => void onRemove(name)}
          />
        ))}
      </ul>
    );
  }

  const stale =
    store.loadState === 'ready' && store.loadError !== null ? (
      <div className="jp-DataAsk-stale" role="status">
        Health may be out of date: {store.loadError.message}
      </div>
    ) : null;

  return (
    <div
      className="jp-DataAsk-connections"
      aria-busy={store.loadState === 'loading'}
    >
      {props.formOpen ? (
        <AddConnectionForm store={store} onDone={props.onCloseForm} />
      ) : null}
      {stale}
      {body}
    </div>
  );
}
