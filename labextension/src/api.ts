/**
 * Typed client of the DataAsk server API under `/dataask/api/`.
 *
 * Every request goes through `ServerConnection.makeRequest` (token, XSRF cookie and base
 * URL handled by JupyterLab). Failures become a {@link DataAskApiError} carrying the
 * server's `{"error": {"code", "message"}}`, ready to be shown where the action happened.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { extractError } from './model';
import type {
  IAskResult,
  IConnectionInfo,
  IConnectionList,
  IDashboard,
  IDashboardSummary,
  IFolder,
  IItems,
  INewConnection,
  IRecent,
  IRunResult,
  ITemplate,
  ITestResult,
  ITheme,
  IVersion,
  IWidget,
  IWorkspace
} from './types';

export type * from './types';

/** An API failure: the server's error code and message, and the HTTP status. */
export class DataAskApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number
  ) {
    super(message);
    this.name = 'DataAskApiError';
  }
}

/** Options shared by all calls. */
export interface IRequestOptions {
  /** The workspace (default: the server's `default`). */
  workspace?: string;
  /** Other query arguments. */
  query?: Record<string, string | number | boolean>;
  signal?: AbortSignal;
}

/** Fields of a dashboard create. */
export interface INewDashboard {
  name: string;
  template?: string;
  template_connections?: Record<string, string>;
  folder_id?: number | null;
  widgets?: IWidget[];
  message?: string;
}

/** Fields a PATCH may change (rename, move). */
export interface IDashboardPatch {
  version: number;
  message?: string;
  name?: string;
  folder_id?: number;
  move_to_root?: boolean;
}

/** The editable document sent by a full save. */
export interface IDashboardSave {
  version: number;
  message: string;
  name: string;
  description: string;
  tags: string[];
  folder_id: number | null;
  private: boolean;
  layout: IDashboard['layout'];
  widgets: IWidget[];
}

/** The client: one per server connection. */
export class DataAskClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** All connections of a workspace, with live health. */
  async listConnections(options: IRequestOptions = {}): Promise<IConnectionList> {
    return this.request<IConnectionList>('GET', ['connections'], options);
  }

  /** Add a connection: the server tests it first and saves it only if it works. */
  async addConnection(
    conn: INewConnection,
    options: IRequestOptions = {}
  ): Promise<IConnectionInfo> {
    const body: Record<string, unknown> = { name: conn.name, url: conn.url };
    if (conn.password) {
      body.password = conn.password;
    }
    return this.request<IConnectionInfo>('POST', ['connections'], options, body);
  }

  /** Ping a saved connection now; the sample feeds its health. */
  async testConnection(
    name: string,
    options: IRequestOptions = {}
  ): Promise<ITestResult> {
    return this.request<ITestResult>(
      'POST',
      ['connections', name, 'test'],
      options,
      {}
    );
  }

  /**
   * Test settings that are not saved yet (the add form's "Test"): the same route as
   * {@link testConnection}, with the URL (and password) in the body; nothing is stored.
   *
   * Throws {@link ProbeUnsupported} when the server cannot test without saving.
   */
  async probeConnection(
    conn: INewConnection,
    options: IRequestOptions = {}
  ): Promise<ITestResult> {
    const body: Record<string, unknown> = { url: conn.url };
    if (conn.password) {
      body.password = conn.password;
    }
    try {
      return await this.request<ITestResult>(
        'POST',
        ['connections', conn.name, 'test'],
        options,
        body
      );
    } catch (err) {
      if (isUnsupportedBody(err)) {
        throw new ProbeUnsupported();
      }
      throw err;
    }
  }

  /** Remove a connection (its stored secret goes with it). */
  async removeConnection(
    name: string,
    options: IRequestOptions = {}
  ): Promise<void> {
    await this.request<void>('DELETE', ['connections', name], options);
  }

  // ------------------------------------------------------------ workspaces, folders

  async listWorkspaces(): Promise<IWorkspace[]> {
    return (await this.request<IItems<IWorkspace>>('GET', ['workspaces'])).items;
  }

  async createWorkspace(name: string, theme?: Partial<ITheme>): Promise<IWorkspace> {
    return this.request<IWorkspace>('POST', ['workspaces'], {}, theme ? { name, theme } : { name });
  }

  async listFolders(ws: number): Promise<IFolder[]> {
    return (await this.request<IItems<IFolder>>('GET', ['workspaces', `${ws}`, 'folders'])).items;
  }

  async createFolder(ws: number, name: string, parentId: number | null): Promise<IFolder> {
    const body: Record<string, unknown> = { name };
    if (parentId !== null) {
      body.parent_id = parentId;
    }
    return this.request<IFolder>('POST', ['workspaces', `${ws}`, 'folders'], {}, body);
  }

  /** Rename and/or move a folder (`parentId` null: to the top level). */
  async updateFolder(
    ws: number,
    id: number,
    change: { name?: string; parentId?: number | null }
  ): Promise<IFolder> {
    const body: Record<string, unknown> = {};
    if (change.name !== undefined) {
      body.name = change.name;
    }
    if (change.parentId === null) {
      body.move_to_root = true;
    } else if (change.parentId !== undefined) {
      body.parent_id = change.parentId;
    }
    return this.request<IFolder>('PATCH', ['workspaces', `${ws}`, 'folders', `${id}`], {}, body);
  }

  async deleteFolder(ws: number, id: number): Promise<void> {
    await this.request<void>('DELETE', ['workspaces', `${ws}`, 'folders', `${id}`]);
  }

  // ------------------------------------------------------------ dashboards

  async listDashboards(ws: number, q?: string): Promise<IDashboardSummary[]> {
    const query = q ? { q } : undefined;
    return (
      await this.request<IItems<IDashboardSummary>>('GET', ['workspaces', `${ws}`, 'dashboards'], {
        query
      })
    ).items;
  }

  async createDashboard(ws: number, dash: INewDashboard): Promise<IDashboard> {
    const body: Record<string, unknown> = { ...dash };
    if (body.folder_id === null || body.folder_id === undefined) {
      delete body.folder_id;
    }
    return this.request<IDashboard>('POST', ['workspaces', `${ws}`, 'dashboards'], {}, body);
  }

  async getDashboard(id: number): Promise<IDashboard> {
    return this.request<IDashboard>('GET', ['dashboards', `${id}`]);
  }

  async saveDashboard(id: number, doc: IDashboardSave): Promise<IDashboard> {
    return this.request<IDashboard>('PUT', ['dashboards', `${id}`], {}, doc);
  }

  async patchDashboard(id: number, patch: IDashboardPatch): Promise<IDashboard> {
    return this.request<IDashboard>('PATCH', ['dashboards', `${id}`], {}, patch);
  }

  async deleteDashboard(id: number): Promise<void> {
    await this.request<void>('DELETE', ['dashboards', `${id}`]);
  }

  async cloneDashboard(id: number, name?: string): Promise<IDashboard> {
    return this.request<IDashboard>('POST', ['dashboards', `${id}`, 'clone'], {}, name ? { name } : {});
  }

  async listVersions(id: number): Promise<IVersion[]> {
    return (await this.request<IItems<IVersion>>('GET', ['dashboards', `${id}`, 'versions'])).items;
  }

  async restoreVersion(id: number, number: number, version: number, message = ''): Promise<IDashboard> {
    return this.request<IDashboard>(
      'POST',
      ['dashboards', `${id}`, 'versions', `${number}`, 'restore'],
      {},
      message ? { version, message } : { version }
    );
  }

  async addWidget(id: number, widget: IWidget, version?: number, message = ''): Promise<IWidget> {
    const body: Record<string, unknown> = { ...widget };
    delete body.id;
    if (version !== undefined) {
      body.version = version;
    }
    if (message) {
      body.message = message;
    }
    return this.request<IWidget>('POST', ['dashboards', `${id}`, 'widgets'], {}, body);
  }

  /** The widgets of a dashboard (without recording a view, unlike {@link getDashboard}). */
  async listWidgets(id: number): Promise<IWidget[]> {
    return (await this.request<IItems<IWidget>>('GET', ['dashboards', `${id}`, 'widgets'])).items;
  }

  async runWidget(id: number, widgetId: string, useCache = true): Promise<IRunResult> {
    return this.request<IRunResult>(
      'POST',
      ['dashboards', `${id}`, 'widgets', widgetId, 'run'],
      {},
      { use_cache: useCache }
    );
  }

  async listTemplates(): Promise<ITemplate[]> {
    return (await this.request<IItems<ITemplate>>('GET', ['templates'])).items;
  }

  async listRecents(ws?: number): Promise<IRecent[]> {
    const query = ws ? { workspace_id: ws } : undefined;
    return (await this.request<IItems<IRecent>>('GET', ['recents'], { query })).items;
  }

  /** Ask a question (SQL, rows, chart, insights). */
  async ask(
    question: string,
    options: { workspace?: number; connections?: string[]; signal?: AbortSignal } = {}
  ): Promise<IAskResult> {
    const body: Record<string, unknown> = { question };
    if (options.workspace !== undefined) {
      body.workspace = options.workspace;
    }
    if (options.connections?.length) {
      body.connections = options.connections;
    }
    return this.request<IAskResult>('POST', ['ask'], { signal: options.signal }, body);
  }

  /** The WebSocket URL of live events. */
  eventsUrl(): string {
    return URLExt.join(this.serverSettings.wsUrl, 'dataask/api/events');
  }

  /** One request; JSON in and out; errors as {@link DataAskApiError}. */
  async request<T>(
    method: string,
    path: string[],
    options: IRequestOptions = {},
    body?: unknown
  ): Promise<T> {
    const settings = this.serverSettings;
    let url = URLExt.join(
      settings.baseUrl,
      'dataask/api',
      ...path.map(encodeURIComponent)
    );
    const query: Record<string, string | number | boolean> = { ...(options.query ?? {}) };
    if (options.workspace) {
      query.workspace = options.workspace;
    }
    if (Object.keys(query).length) {
      url += URLExt.objectToQueryString(query);
    }
    // 'no-cache', not JupyterLab's default 'no-store': that appends a `?<timestamp>`
    // cache buster, and the API refuses unknown query arguments. Responses carry
    // `Cache-Control: no-store`, so nothing is cached either way.
    const init: RequestInit = { method, signal: options.signal, cache: 'no-cache' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, settings);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') {
        throw err;
      }
      throw new DataAskApiError(
        'network_error',
        'Cannot reach the Jupyter server. Is it still running?'
      );
    }
    const text = await response.text();
    let data: unknown = text;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        // not JSON: keep the text; extractError decides whether it is a message
      }
    }
    if (!response.ok) {
      const info = extractError(data, response.status);
      throw new DataAskApiError(info.code, info.message, response.status);
    }
    return (text ? data : undefined) as T;
  }
}

/** The server has no "test without saving" yet: Save still tests before it stores. */
export class ProbeUnsupported extends DataAskApiError {
  constructor() {
    super(
      'probe_unsupported',
      'This DataAsk server cannot test without saving. Save tests the connection first and stores it only if it works.'
    );
    this.name = 'ProbeUnsupported';
  }
}

/** A 400 saying the body's `url` field is not accepted (a server without probing). */
function isUnsupportedBody(err: unknown): boolean {
  return (
    err instanceof DataAskApiError &&
    err.status === 400 &&
    /\burl\b/.test(err.message) &&
    /extra|not permitted|unexpected|unknown/i.test(err.message)
  );
}
