/**
 * The connections state shared by the sidebar and the quick switcher: the list with
 * health, how loading went, per-connection test results, and the health poll.
 */

import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataAskApiError, DataAskClient } from './api';
import { extractError, IErrorInfo, sortConnections } from './model';
import type { IConnectionInfo, INewConnection, ITestResult } from './types';

/** The state of one connection's "Test" button. */
export type TestState =
  | { kind: 'running' }
  | { kind: 'done'; result: ITestResult; at: number }
  | { kind: 'error'; error: IErrorInfo; at: number };

/** `loading` only until the first answer; later refreshes keep showing the last list. */
export type LoadState = 'loading' | 'ready' | 'error';

const MIN_POLL_SECONDS = 2;
const TEST_OK_MS = 8_000;
const TEST_FAILED_MS = 30_000;

function toErrorInfo(err: unknown): IErrorInfo {
  if (err instanceof DataAskApiError) {
    return { code: err.code, message: err.message, status: err.status };
  }
  return extractError(null, undefined, String((err as Error)?.message ?? err));
}

export class ConnectionsStore {
  constructor(
    readonly client: DataAskClient,
    options: { pollSeconds?: number; workspace?: string } = {}
  ) {
    this._workspace = options.workspace;
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: ConnectionsStore.frequency(options.pollSeconds ?? 15),
      name: 'dataask:connections',
      standby: () => this._standby()
    });
  }

  /** The poll frequency for a setting in seconds (errors back off up to 5 min). */
  static frequency(seconds: number): IPoll.Frequency {
    const interval = Math.max(MIN_POLL_SECONDS, seconds) * 1000;
    return { interval, backoff: true, max: Math.max(interval, 300_000) };
  }

  /** The workspace (name) whose connections are listed; `undefined`: the server's default. */
  get workspace(): string | undefined {
    return this._workspace;
  }

  /** List another workspace's connections (the sidebar follows the selected workspace). */
  setWorkspace(name: string | undefined): void {
    if (name === this._workspace) {
      return;
    }
    this._workspace = name;
    this._connections = [];
    this._tests.clear();
    this._loadState = 'loading';
    this._changed.emit();
    void this.refresh();
  }

  /** Emitted after any change of state. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get connections(): readonly IConnectionInfo[] {
    return this._connections;
  }

  get loadState(): LoadState {
    return this._loadState;
  }

  /** The last failure of a refresh (the list keeps its last good value). */
  get loadError(): IErrorInfo | null {
    return this._loadError;
  }

  /** When the list was last fetched (ms since epoch), or 0. */
  get loadedAt(): number {
    return this._loadedAt;
  }

  testState(name: string): TestState | undefined {
    return this._tests.get(name);
  }

  /** Whether the poll may run now (set by the sidebar: visible or not). */
  set active(value: boolean) {
    if (value !== this._active) {
      this._active = value;
      if (value) {
        void this.refresh();
      }
    }
  }

  /** Start polling health every `pollSeconds` (first fetch now). */
  start(): Promise<void> {
    return this._poll.start();
  }

  setPollSeconds(seconds: number): void {
    this._poll.frequency = ConnectionsStore.frequency(seconds);
  }

  /** Fetch the list now (and restart the poll interval). */
  async refresh(): Promise<void> {
    if (this._poll.isDisposed) {
      return;
    }
    if (!this._active) {
      // the poll is on standby (sidebar hidden): fetch once anyway, for the switcher
      await this._load().catch(() => undefined);
      return;
    }
    await this._poll.refresh();
    await this._poll.tick;
  }

  /** Add (the server tests first); the list is refreshed on success. */
  async add(conn: INewConnection): Promise<IConnectionInfo> {
    const info = await this.client.addConnection(conn, this._opts());
    this._tests.delete(info.name);
    this._upsert(info);
    void this.refresh();
    return info;
  }

  /** Test settings without saving them (the add form's "Test"). */
  probe(conn: INewConnection): Promise<ITestResult> {
    return this.client.probeConnection(conn, this._opts());
  }

  /** Ping a saved connection; the result is kept for the row and the list refreshed. */
  async test(name: string): Promise<TestState> {
    this._tests.set(name, { kind: 'running' });
    this._changed.emit();
    let state: TestState;
    try {
      const result = await this.client.testConnection(name, this._opts());
      state = { kind: 'done', result, at: Date.now() };
    } catch (err) {
      state = { kind: 'error', error: toErrorInfo(err), at: Date.now() };
    }
    this._tests.set(name, state);
    this._changed.emit();
    void this.refresh();
    // the row shows the result for a while, then its latency again (the badge keeps it)
    const keep = state.kind === 'done' && state.result.ok ? TEST_OK_MS : TEST_FAILED_MS;
    window.setTimeout(() => {
      if (this._tests.get(name) === state) {
        this._tests.delete(name);
        this._changed.emit();
      }
    }, keep);
    return state;
  }

  /** Remove a connection; throws the server's error (shown by the caller). */
  async remove(name: string): Promise<void> {
    await this.client.removeConnection(name, this._opts());
    this._tests.delete(name);
    this._connections = this._connections.filter(c => c.name !== name);
    this._changed.emit();
    void this.refresh();
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _opts() {
    return this.workspace ? { workspace: this.workspace } : {};
  }

  private _standby(): boolean | Poll.Standby {
    return this._active ? 'when-hidden' : true;
  }

  private _upsert(info: IConnectionInfo): void {
    const rest = this._connections.filter(c => c.name !== info.name);
    this._connections = sortConnections([...rest, info]);
    this._loadState = 'ready';
    this._changed.emit();
  }

  private async _load(): Promise<void> {
    const asked = this._workspace;
    try {
      const list = await this.client.listConnections(this._opts());
      if (asked !== this._workspace) {
        return; // the workspace changed meanwhile: that answer is stale
      }
      this._connections = sortConnections(list.connections ?? []);
      this._loadState = 'ready';
      this._loadError = null;
      this._loadedAt = Date.now();
      const names = new Set(this._connections.map(c => c.name));
      for (const name of [...this._tests.keys()]) {
        if (!names.has(name)) {
          this._tests.delete(name);
        }
      }
    } catch (err) {
      this._loadError = toErrorInfo(err);
      if (this._loadState === 'loading') {
        this._loadState = 'error';
      }
      this._changed.emit();
      throw err; // lets the poll back off
    }
    this._changed.emit();
  }

  private _workspace: string | undefined;
  private _active = true;
  private _changed = new Signal<this, void>(this);
  private _connections: IConnectionInfo[] = [];
  private _loadError: IErrorInfo | null = null;
  private _loadState: LoadState = 'loading';
  private _loadedAt = 0;
  private _poll: Poll;
  private _tests = new Map<string, TestState>();
}
