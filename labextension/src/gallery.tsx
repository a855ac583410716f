/**
 * The gallery: a workspace's dashboards as a grid of thumbnails drawn from each
 * dashboard's widgets (kind, title, position), with the same search and tag filter as the
 * sidebar tree. Thumbnails refresh when a dashboard is saved (its version changes).
 */

import { ReactWidget } from '@jupyterlab/apputils';
import React, { useEffect, useState } from 'react';

import type { DataAskClient } from './api';
import { InlineError, TagFilter, useSignalStore } from './components/DashboardsView';
import { allTags, folderPath, matchesFilter, thumbnailRects } from './dashboards';
import type { DashboardsStore } from './dashboardsStore';
import { toErrorInfo } from './dashboardsStore';
import { formatAgo, IErrorInfo } from './model';
import type { IDashboardSummary, IWidget } from './types';

const THUMB_W = 220;
/** Colours when the workspace has no palette (the server's default theme). */
const DEFAULT_PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b'];
const THUMB_H = 130;

/** A tiny picture of a widget kind inside a `w`×`h` box. */
function KindShape(props: { kind: string; w: number; h: number; colour: string }): JSX.Element | null {
  const { w, h, colour } = props;
  if (w < 14 || h < 12) {
    return null;
  }
  const pad = Math.min(w, h) * 0.25;
  const x0 = pad;
  const y0 = pad + 3;
  const x1 = w - pad;
  const y1 = h - pad;
  const stroke = { stroke: colour, strokeWidth: 1.5, fill: 'none' };
  switch (props.kind) {
    case 'line':
    case 'area':
      return (
        <polyline
          points={`${x0},${y1} ${x0 + (x1 - x0) * 0.3},${y0 + (y1 - y0) * 0.4} ${x0 + (x1 - x0) * 0.6},${y0 + (y1 - y0) * 0.7} ${x1},${y0}`}
          {...stroke}
        />
      );
    case 'bar':
      return (
        <g fill={colour}>
          {[0.5, 0.9, 0.3].map((f, i) => (
            <rect key={i} x={x0 + ((x1 - x0) / 3) * i + 1} y={y1 - (y1 - y0) * f} width={(x1 - x0) / 3 - 2} height={(y1 - y0) * f} />
          ))}
        </g>
      );
    case 'pie':
      return <circle cx={w / 2} cy={(y0 + y1) / 2} r={Math.max(2, Math.min(x1 - x0, y1 - y0) / 2)} fill={colour} />;
    case 'scatter':
      return (
        <g fill={colour}>
          {[
            [0.2, 0.7],
            [0.5, 0.4],
            [0.8, 0.2],
            [0.4, 0.8]
          ].map(([fx, fy], i) => (
            <circle key={i} cx={x0 + (x1 - x0) * fx} cy={y0 + (y1 - y0) * fy} r={1.5} />
          ))}
        </g>
      );
    case 'table':
    case 'text':
      return (
        <g stroke={colour} strokeWidth={1}>
          {[0.2, 0.5, 0.8].map(f => (
            <line key={f} x1={x0} x2={x1} y1={y0 + (y1 - y0) * f} y2={y0 + (y1 - y0) * f} />
          ))}
        </g>
      );
    default:
      return (
        <text x={w / 2} y={(y0 + y1) / 2 + 4} textAnchor="middle" className="jp-DataAsk-thumbGlyph" fill={colour}>
          #
        </text>
      );
  }
}

function Thumbnail(props: {
  widgets: IWidget[] | null;
  error: IErrorInfo | null;
  palette?: string[];
}): JSX.Element {
  if (props.error) {
    return <div className="jp-DataAsk-thumb jp-DataAsk-hint">{props.error.message}</div>;
  }
  if (!props.widgets) {
    return <div className="jp-DataAsk-thumb jp-DataAsk-skeleton" aria-busy="true" />;
  }
  if (!props.widgets.length) {
    return <div className="jp-DataAsk-thumb jp-DataAsk-hint jp-DataAsk-thumbEmpty">No widgets yet</div>;
  }
  const rects = thumbnailRects(props.widgets, { columns: 12, row_height: 80 }, THUMB_W, THUMB_H);
  const palette = props.palette?.length ? props.palette : DEFAULT_PALETTE;
  const colour = (i: number) => palette[i % palette.length];
  return (
    <svg className="jp-DataAsk-thumb" width={THUMB_W} height={THUMB_H} viewBox={`0 0 ${THUMB_W} ${THUMB_H}`} aria-hidden="true">
      {rects.map((r, i) => (
        <g key={i} transform={`translate(${r.x + 2},${r.y + 2})`}>
          <rect width={Math.max(4, r.w - 4)} height={Math.max(4, r.h - 4)} rx={3} className="jp-DataAsk-thumbCard" />
          <rect width={Math.max(4, r.w - 4)} height={3} rx={1} fill={colour(i)} />
          <KindShape kind={r.kind} w={Math.max(4, r.w - 4)} h={Math.max(4, r.h - 4)} colour={colour(i)} />
        </g>
      ))}
    </svg>
  );
}

export function GalleryView(props: {
  client: DataAskClient;
  store: DashboardsStore;
  onOpen: (id: number) => void;
}): JSX.Element {
  const { store, client } = props;
  useSignalStore(store);
  const [thumbs, setThumbs] = useState<Record<string, IWidget[]>>({});
  const [errors, setErrors] = useState<Record<number, IErrorInfo>>({});
  const ws = store.workspace;
  const shown = store.dashboards
    .filter(d => matchesFilter(d, store.filter))
    .sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''));
  const tags = allTags(store.dashboards);

  // fetch the widgets of every shown dashboard whose version we have not drawn yet
  const wanted = shown.map(d => `${d.id}@${d.version}`).join(',');
  useEffect(() => {
    let live = true;
    for (const d of shown) {
      const key = `${d.id}@${d.version}`;
      if (thumbs[key]) {
        continue;
      }
      client
        .listWidgets(d.id)
        .then(ws => live && setThumbs(t => ({ ...t, [key]: ws })))
        .catch(err => live && setErrors(e => ({ ...e, [d.id]: toErrorInfo(err) })));
    }
    return () => {
      live = false;
    };
  }, [wanted]);

  const card = (d: IDashboardSummary) => (
    <li key={d.id}>
      <button
        type="button"
        className="jp-DataAsk-galleryCard"
        data-id={d.id}
        data-version={d.version}
        aria-label={`Open dashboard ${d.name}`}
        onClick={() => props.onOpen(d.id)}
      >
        <Thumbnail widgets={thumbs[`${d.id}@${d.version}`] ?? null} error={errors[d.id] ?? null} palette={ws?.theme?.palette} />
        <span className="jp-DataAsk-galleryName">{d.name}</span>
        <span className="jp-DataAsk-hint">
          {d.widget_count} widgets · v{d.version}
          {d.updated_at ? ` · ${formatAgo(d.updated_at)}` : ''}
        </span>
        <span className="jp-DataAsk-hint">{folderPath(store.folders, d.folder_id)}</span>
      </button>
    </li>
  );

  return (
    <div className="jp-DataAsk-gallery">
      <div className="jp-DataAsk-editorToolbar">
        <h2 className="jp-DataAsk-editorTitle">{ws ? `Dashboards of ${ws.name}` : 'Dashboards'}</h2>
        <span className="jp-DataAsk-spacer" />
        <input
          type="search"
          className="jp-mod-styled jp-DataAsk-input jp-DataAsk-gallerySearch"
          placeholder="Search dashboards"
          aria-label="Search dashboards in the gallery"
          value={store.filter.text}
          onChange={e => store.setFilter({ text: e.target.value })}
        />
        <TagFilter
          store={store}
          tags={tags}
          label="Filter the gallery by tag"
          className="jp-mod-styled jp-DataAsk-select"
        />
      </div>
      <InlineError error={store.loadState === 'error' ? store.loadError : null} />
      {store.loadState === 'ready' && shown.length === 0 && (
        <div className="jp-DataAsk-empty">
          <p className="jp-DataAsk-emptyTitle">
            {store.dashboards.length ? 'No dashboards match' : 'No dashboards yet'}
          </p>
          <p>
            {store.dashboards.length
              ? 'Change the search or the tag filter.'
              : 'Create one from a template with New dashboard in the DataAsk sidebar.'}
          </p>
        </div>
      )}
      <ul className="jp-DataAsk-galleryGrid" aria-label="Dashboards">
        {shown.map(card)}
      </ul>
    </div>
  );
}

export class DashboardGallery extends ReactWidget {
  constructor(readonly options: { client: DataAskClient; store: DashboardsStore; onOpen: (id: number) => void }) {
    super();
    this.id = 'dataask-gallery';
    this.addClass('jp-DataAsk-galleryWidget');
    this.title.label = 'Dashboards gallery';
    this.title.closable = true;
    this._label();
    options.store.changed.connect(this._label, this);
  }

  dispose(): void {
    this.options.store.changed.disconnect(this._label, this);
    super.dispose();
  }

  private _label(): void {
    const ws = this.options.store.workspace;
    this.title.label = ws ? `Gallery: ${ws.name}` : 'Dashboards gallery';
  }

  protected render(): JSX.Element {
    return <GalleryView {...this.options} />;
  }
}
