/** What a widget shows: a chart (Vega), a metric card or a table of rows. */

import React, { useEffect, useRef, useState } from 'react';

import type { ChartRenderer } from '../charts';
import { formatValue, metricValue } from '../dashboards';

export function ChartView(props: {
  spec: Record<string, any>;
  render: ChartRenderer;
  label: string;
}): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const theme = useLightTheme();
  const key = JSON.stringify(props.spec) + theme;
  useEffect(() => {
    let dispose: (() => void) | null = null;
    let live = true;
    const el = host.current;
    if (el) {
      void props
        .render(props.spec, el)
        .then(d => {
          if (live) {
            dispose = d;
          } else {
            d();
          }
        })
        .catch(err => {
          if (live && el) {
            el.textContent = `Could not draw the chart: ${(err as Error)?.message ?? err}`;
          }
        });
    }
    return () => {
      live = false;
      dispose?.();
    };
  }, [key, props.render]);
  return <div className="jp-DataAsk-chart" ref={host} role="img" aria-label={props.label} />;
}

/** `'light'` or `'dark'`, following JupyterLab's theme (charts redraw when it changes). */
export function useLightTheme(): string {
  const read = () => (document.body.dataset.jpThemeLight === 'false' ? 'dark' : 'light');
  const [theme, setTheme] = useState(read);
  useEffect(() => {
    const obs = new MutationObserver(() => setTheme(read()));
    obs.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light'] });
    return () => obs.disconnect();
  }, []);
  return theme;
}

export function MetricView(props: {
  columns: string[];
  rows: unknown[][];
  format?: string;
  accent?: string;
}): JSX.Element {
  const value = metricValue(props.columns, props.rows);
  return (
    <div className="jp-DataAsk-metric">
      <span className="jp-DataAsk-metricValue" style={props.accent ? { color: props.accent } : undefined}>
        {formatValue(value, props.format)}
      </span>
      {props.columns[0] && <span className="jp-DataAsk-metricLabel">{props.columns[0]}</span>}
    </div>
  );
}

export function TableView(props: {
  columns: string[];
  rows: unknown[][];
  maxRows?: number;
  caption?: string;
}): JSX.Element {
  const shown = props.rows.slice(0, props.maxRows ?? 200);
  return (
    <div className="jp-DataAsk-tableWrap" tabIndex={0}>
      <table className="jp-DataAsk-table">
        {props.caption && <caption className="jp-DataAsk-visuallyHidden">{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map(c => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((r, i) => (
            <tr key={i}>
              {r.map((v, j) => (
                <td key={j} data-numeric={typeof v === 'number'}>
                  {typeof v === 'number' ? formatValue(v) : v === null ? '–' : String(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {props.rows.length > shown.length && (
        <div className="jp-DataAsk-hint">
          Showing {shown.length} of {props.rows.length} rows.
        </div>
      )}
    </div>
  );
}
