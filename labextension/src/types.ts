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
