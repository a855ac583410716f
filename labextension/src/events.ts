/**
 * Live workspace events over the `/dataask/api/events` WebSocket: subscribe to one
 * workspace, get `dashboard.saved`, `dashboard.created`, `folder.changed`... as a signal.
 * Reconnects with a capped, jittered backoff while anyone is subscribed.
 */

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

/** One event as the server sends it (ids and versions only, never rows or SQL). */
export interface ILiveEvent {
  event: string;
  workspace_id: number;
  dashboard_id?: number;
  version?: number;
  actor?: string;
  at?: string;
  [key: string]: unknown;
}

const MAX_BACKOFF_MS = 30_000;

export class LiveEvents {
  constructor(
    readonly url: string,
    readonly settings: ServerConnection.ISettings
  ) {}

  /** Every event of the subscribed workspace. */
  get received(): ISignal<this, ILiveEvent> {
    return this._received;
  }

  /** `true` while the socket is open and subscribed. */
  get connected(): boolean {
    return this._subscribed;
  }

  /** Follow one workspace (`null`: none). */
  follow(workspaceId: number | null): void {
    if (workspaceId === this._workspace) {
      return;
    }
    const old = this._workspace;
    this._workspace = workspaceId;
    if (this._socket?.readyState === WebSocket.OPEN) {
      if (old !== null) {
        this._send({ type: 'unsubscribe', workspace_id: old });
      }
      this._subscribed = false;
      if (workspaceId !== null) {
        this._send({ type: 'subscribe', workspace_id: workspaceId });
      }
    } else if (workspaceId !== null) {
      this._open();
    }
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._timer);
    this._socket?.close();
    this._socket = null;
  }

  private _open(): void {
    if (this._disposed || this._socket) {
      return;
    }
    let url = this.url;
    const token = this.settings.token;
    if (token) {
      url += `?token=${encodeURIComponent(token)}`;
    }
    let socket: WebSocket;
    try {
      socket = new this.settings.WebSocket(url);
    } catch {
      this._retry();
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      this._attempt = 0;
      if (this._workspace !== null) {
        this._send({ type: 'subscribe', workspace_id: this._workspace });
      }
    };
    socket.onmessage = msg => {
      let data: any;
      try {
        data = JSON.parse(String(msg.data));
      } catch {
        return;
      }
      if (data?.type === 'subscribed') {
        this._subscribed = data.workspace_id === this._workspace;
      } else if (data?.type === 'event' && data.workspace_id === this._workspace) {
        this._received.emit(data as ILiveEvent);
      }
    };
    socket.onclose = () => {
      this._socket = null;
      this._subscribed = false;
      this._retry();
    };
  }

  private _retry(): void {
    if (this._disposed || this._workspace === null) {
      return;
    }
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this._attempt++);
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => this._open(), base / 2 + Math.random() * (base / 2));
  }

  private _send(msg: unknown): void {
    try {
      this._socket?.send(JSON.stringify(msg));
    } catch {
      // closed meanwhile: onclose reconnects
    }
  }

  private _received = new Signal<this, ILiveEvent>(this);
  private _socket: WebSocket | null = null;
  private _workspace: number | null = null;
  private _subscribed = false;
  private _attempt = 0;
  private _timer = 0;
  private _disposed = false;
}
