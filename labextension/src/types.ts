/**
 * Wire types of the DataAsk server API (`/dataask/api/...`), as the server sends them.
 *
 * Keep in sync with `dataask_jupyter/connections/info.py` and `health.py`.
 */

/** Health status of a connection, computed by the server from recent events. */
export type HealthStatus = 'active' | 'degraded' | 'down' | 'unknown';

/** `ConnectionHealth.to_dict()`. */
export interface IConnectionHealth {
  status: HealthStatus;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  error_count: number;
  error_rate: number;
  last_error: string | null;
  last_success_at: string | null;
  last_checked_at: string | null;
}

/** Usage totals of a connection. */
export interface IConnectionUsage {
  queries: number;
  rows: number;
  bytes: number;
  errors: number;
}

/** `ConnectionInfo.to_dict()`: never a password, the URL is masked. */
export interface IConnectionInfo {
  name: string;
  workspace: string;
  family: string;
  dialect: string;
  url: string;
  health: IConnectionHealth;
  usage: IConnectionUsage;
  created_at: string | null;
}

/** `GET /dataask/api/connections`. */
export interface IConnectionList {
  workspace: string;
  connections: IConnectionInfo[];
}

/** `POST /dataask/api/connections/{name}/test`. */
export interface ITestResult {
  name: string;
  ok: boolean;
  latency_ms: number | null;
  message: string | null;
}

/** Body of `POST /dataask/api/connections` (add: tested first, saved only if it works). */
export interface INewConnection {
  name: string;
  url: string;
  /** Optional; overrides a password in the URL. Sent once, never read back. */
  password?: string;
}

/** The one error shape of every route: `{"error": {"code": ..., "message": ...}}`. */
export interface IErrorBody {
  error: { code: string; message: string };
}

// ---------------------------------------------------------------- workspaces and dashboards
// Keep in sync with `dataask_jupyter/dashboards/models.py` and `api_models.py`.

export type Role = 'viewer' | 'editor' | 'admin';
export type Level = 'view' | 'edit' | 'admin';

/** A workspace's colour palette (dashboards use it for charts and cards). */
export interface ITheme {
  palette: string[];
  background: string;
  text: string;
  mode: 'light' | 'dark';
}

/** `WorkspaceOut`. */
export interface IWorkspace {
  id: number;
  name: string;
  theme: Partial<ITheme>;
  role: Role;
  created_at?: string | null;
  created_by?: string;
}

/** `FolderOut`. */
export interface IFolder {
  id: number;
  workspace_id: number;
  name: string;
  parent_id: number | null;
}

/** `DashboardSummary`. */
export interface IDashboardSummary {
  id: number;
  workspace_id: number;
  name: string;
  description: string;
  tags: string[];
  folder_id: number | null;
  owner: string;
  private: boolean;
  template: string;
  version: number;
  widget_count: number;
  updated_at?: string | null;
  updated_by?: string;
}

export type WidgetKind =
  | 'metric'
  | 'line'
  | 'bar'
  | 'area'
  | 'scatter'
  | 'pie'
  | 'table'
  | 'text';

export type WidgetQuery =
  | { kind: 'sql'; connection: string; sql: string }
  | { kind: 'federated'; sql: string }
  | { kind: 'dataset'; dataset_id: number };

export interface IGridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A widget of a dashboard document. */
export interface IWidget {
  id?: string;
  kind: WidgetKind;
  title: string;
  query: WidgetQuery | null;
  spec?: Record<string, any> | null;
  options?: Record<string, any>;
  position: IGridPos;
}

export interface ILayout {
  columns: number;
  row_height: number;
}

/** `DashboardOut`. */
export interface IDashboard extends IDashboardSummary {
  layout: ILayout;
  widgets: IWidget[];
  access: Level;
  created_at?: string | null;
}

/** `VersionOut`. */
export interface IVersion {
  version: number;
  author: string;
  created_at: string | null;
  message: string;
  restored_from?: number | null;
}

/** `TemplateOut`. */
export interface ITemplate {
  name: string;
  title: string;
  description: string;
  widget_count: number;
  connections: Record<string, string>;
}

/** `RecentOut`. */
export interface IRecent {
  dashboard_id: number;
  workspace_id: number;
  name: string;
  viewed_at: string;
}

/** `RunOut`: rows of a widget's query. */
export interface IRunResult {
  dashboard_id: number;
  widget_id: string;
  columns: string[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  seconds: number;
  cache: string;
}

/** `POST /dataask/api/ask`. */
export interface IAskResult {
  question: string;
  sql: string;
  federated: boolean;
  engine: string;
  columns: string[];
  rows: unknown[][];
  row_count: number;
  chart: Record<string, any> | null;
  insights: string[];
  attempts: number;
  connections: string[];
  truncated: boolean;
  /** The SQL with tables named `connection.table` (what a `%%federate` cell takes). */
  federate_sql?: string;
}

/** `{"items": [...]}` of list routes. */
export interface IItems<T> {
  items: T[];
}
