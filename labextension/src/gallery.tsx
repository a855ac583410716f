/**
 * The gallery: a workspace's dashboards as a grid of thumbnails drawn from each
 * dashboard's widgets (kind, title, position), with the same search and tag filter as the
 * sidebar tree. Thumbnails refresh when a dashboard is saved (its version changes).
 */

import { ReactWidget } from '@jupyterlab/apputils';
import React, { useEffect, useState } from 'react';

import type { DataAskClient } from './api';
import { InlineError, useSignalStore } from './components/DashboardsView';
import { allTags, folderPath, matchesFilter, thumbnailRects } from './dashboards';
import type { DashboardsStore } from './dashboardsStore';
import { toErrorInfo } from './dashboardsStore';
import { formatAgo, IErrorInfo } from './model';
import type { IDashboardSummary, IWidget } from './types';

const THUMB_W = 220;
const THUMB_H = 130;

const KIND_GLYPH: Record<string, string> = {
  metric: '#',
  table: '▤',
  line: '⟋',
  bar: '▮',
  area: '◭',
  scatter: '∴',
  pie: '◔',
  text: '¶'
};

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
  const colour = (i: number) => props.palette?.[i % (props.palette?.length || 1)] ?? 'var(--jp-brand-color1)';
  return (
    <svg className="jp-DataAsk-thumb" width={THUMB_W} height={THUMB_H} viewBox={`0 0 ${THUMB_W} ${THUMB_H}`} aria-hidden="true">
      {rects.map((r, i) => (
        <g key={i} transform={`translate(${r.x + 2},${r.y + 2})`}>
          <rect width={Math.max(4, r.w - 4)} height={Math.max(4, r.h - 4)} rx={3} className="jp-DataAsk-thumbCard" />
          <rect width={Math.max(4, r.w - 4)} height={3} rx={1} fill={colour(i)} />
          {r.h > 16 && r.w > 16 && (
            <text x={(r.w - 4) / 2} y={(r.h - 4) / 2 + 5} textAnchor="middle" className="jp-DataAsk-thumbGlyph" fill={colour(i)}>
              {KIND_GLYPH[r.kind] ?? '?'}
            </text>
          )}
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
        {tags.length > 0 && (
          <select
            className="jp-mod-styled jp-DataAsk-select"
            aria-label="Filter the gallery by tag"
            value={store.filter.tag ?? ''}
            onChange={e => store.setFilter({ tag: e.target.value || null })}
          >
            <option value="">All tags</option>
            {tags.map(t => (
              <option key={t} value={t}>
                #{t}
              </option>
            ))}
          </select>
        )}
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
    options.store.changed.connect(() => {
      const ws = options.store.workspace;
      this.title.label = ws ? `Gallery: ${ws.name}` : 'Dashboards gallery';
    });
  }

  protected render(): JSX.Element {
    return <GalleryView {...this.options} />;
  }
}
