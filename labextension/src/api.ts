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
  IConnectionInfo,
  IConnectionList,
  INewConnection,
  ITestResult
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
  signal?: AbortSignal;
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
    if (options.workspace) {
      url += URLExt.objectToQueryString({ workspace: options.workspace });
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
