/**
 * The dashboards state shared by the sidebar tree, the gallery and the ask box: the
 * workspaces and the current one, its folders and dashboards, templates, recents, the
 * search filter, and one inline error per action (shown where the action happened).
 */

import { ISignal, Signal } from '@lumino/signaling';

import { DataAskApiError, DataAskClient, INewDashboard } from './api';
import { IDashboardFilter, NO_FILTER, uniqueName } from './dashboards';
import type { ILiveEvent, LiveEvents } from './events';
import { extractError, IErrorInfo } from './model';
import type {
  IDashboard,
  IDashboardSummary,
  IFolder,
  IRecent,
  ITemplate,
  IWorkspace
} from './types';

const WORKSPACE_KEY = 'dataask:workspace';

export function toErrorInfo(err: unknown): IErrorInfo {
  if (err instanceof DataAskApiError) {
    return { code: err.code, message: err.message, status: err.status };
  }
  return extractError(null, undefined, String((err as Error)?.message ?? err));
}

export type LoadState = 'loading' | 'ready' | 'error';

export class DashboardsStore {
  constructor(
    readonly client: DataAskClient,
    readonly events?: LiveEvents
  ) {
    events?.received.connect(this._onEvent, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A dashboard of the current workspace was saved by anyone (editors reload). */
  get eventReceived(): ISignal<this, ILiveEvent> {
    return this._eventReceived;
  }

  loadState: LoadState = 'loading';
  loadError: IErrorInfo | null = null;
  workspaces: IWorkspace[] = [];
  folders: IFolder[] = [];
  dashboards: IDashboardSummary[] = [];
  templates: ITemplate[] = [];
  recents: IRecent[] = [];
  filter: IDashboardFilter = NO_FILTER;

  get workspaceId(): number | null {
    return this._workspaceId;
  }

  get workspace(): IWorkspace | null {
    return this.workspaces.find(w => w.id === this._workspaceId) ?? null;
  }

  /** The inline error of an action key (`create`, `dashboard:3`, `folder:2`...). */
  error(key: string): IErrorInfo | undefined {
    return this._errors.get(key);
  }

  busy(key: string): boolean {
    return this._busy.has(key);
  }

  clearError(key: string): void {
    if (this._errors.delete(key)) {
      this._changed.emit();
    }
  }

  /** Load workspaces (and templates), then the current workspace's content. */
  async start(): Promise<void> {
    try {
      const [workspaces, templates] = await Promise.all([
        this.client.listWorkspaces(),
        this.client.listTemplates().catch(() => [] as ITemplate[])
      ]);
      this.workspaces = workspaces;
      this.templates = templates;
      const saved = Number(window.localStorage?.getItem(WORKSPACE_KEY));
      const pick =
        workspaces.find(w => w.id === saved) ??
        workspaces.find(w => w.name === 'default') ??
        workspaces[0] ??
        null;
      this._workspaceId = pick?.id ?? null;
      this.events?.follow(this._workspaceId);
      await this.refresh();
    } catch (err) {
      this.loadState = 'error';
      this.loadError = toErrorInfo(err);
      this._changed.emit();
    }
  }

  /** Reload folders, dashboards and recents of the current workspace. */
  async refresh(): Promise<void> {
    const ws = this._workspaceId;
    if (ws === null) {
      this.folders = [];
      this.dashboards = [];
      this.loadState = 'ready';
      this._changed.emit();
      return;
    }
    try {
      const [folders, dashboards, recents] = await Promise.all([
        this.client.listFolders(ws),
        this.client.listDashboards(ws),
        this.client.listRecents(ws).catch(() => [] as IRecent[])
      ]);
      if (ws !== this._workspaceId) {
        return; // switched meanwhile
      }
      this.folders = folders;
      this.dashboards = dashboards;
      this.recents = recents;
      this.loadState = 'ready';
      this.loadError = null;
    } catch (err) {
      this.loadState = this.dashboards.length ? 'ready' : 'error';
      this.loadError = toErrorInfo(err);
    }
    this._changed.emit();
  }

  async selectWorkspace(id: number): Promise<void> {
    if (id === this._workspaceId) {
      return;
    }
    this._workspaceId = id;
    window.localStorage?.setItem(WORKSPACE_KEY, String(id));
    this.folders = [];
    this.dashboards = [];
    this.loadState = 'loading';
    this._errors.clear();
    this.events?.follow(id);
    this._changed.emit();
    await this.refresh();
  }

  setFilter(filter: Partial<IDashboardFilter>): void {
    this.filter = { ...this.filter, ...filter };
    this._changed.emit();
  }

  async createWorkspace(name: string): Promise<IWorkspace | null> {
    return this._act('workspace', async () => {
      const ws = await this.client.createWorkspace(name.trim());
      this.workspaces = [...this.workspaces, ws];
      await this.selectWorkspace(ws.id);
      return ws;
    });
  }

  async createDashboard(dash: INewDashboard): Promise<IDashboard | null> {
    const ws = this._workspaceId;
    if (ws === null) {
      return null;
    }
    return this._act('create', async () => {
      const name = uniqueName(dash.name, this.dashboards.map(d => d.name));
      const out = await this.client.createDashboard(ws, { ...dash, name });
      await this.refresh();
      return out;
    });
  }

  async createFolder(name: string, parentId: number | null): Promise<IFolder | null> {
    const ws = this._workspaceId;
    if (ws === null) {
      return null;
    }
    return this._act('folder', async () => {
      const out = await this.client.createFolder(ws, name.trim(), parentId);
      await this.refresh();
      return out;
    });
  }

  async renameDashboard(id: number, name: string): Promise<boolean> {
    return this._patch(id, { name: name.trim() });
  }

  async moveDashboard(id: number, folderId: number | null): Promise<boolean> {
    return this._patch(id, folderId === null ? { move_to_root: true } : { folder_id: folderId });
  }

  async cloneDashboard(id: number): Promise<IDashboard | null> {
    const src = this.dashboards.find(d => d.id === id);
    return this._act(`dashboard:${id}`, async () => {
      const name = uniqueName(`${src?.name ?? 'Dashboard'} copy`, this.dashboards.map(d => d.name));
      const out = await this.client.cloneDashboard(id, name);
      await this.refresh();
      return out;
    });
  }

  async deleteDashboard(id: number): Promise<boolean> {
    const ok = await this._act(`dashboard:${id}`, async () => {
      await this.client.deleteDashboard(id);
      await this.refresh();
      return true;
    });
    return !!ok;
  }

  async renameFolder(id: number, name: string): Promise<boolean> {
    return !!(await this._act(`folder:${id}`, async () => {
      const ws = this._workspaceId!;
      await this.client.updateFolder(ws, id, { name: name.trim() });
      await this.refresh();
      return true;
    }));
  }

  async moveFolder(id: number, parentId: number | null): Promise<boolean> {
    return !!(await this._act(`folder:${id}`, async () => {
      const ws = this._workspaceId!;
      await this.client.updateFolder(ws, id, { parentId });
      await this.refresh();
      return true;
    }));
  }

  async deleteFolder(id: number): Promise<boolean> {
    return !!(await this._act(`folder:${id}`, async () => {
      await this.client.deleteFolder(this._workspaceId!, id);
      await this.refresh();
      return true;
    }));
  }

  /** A dashboard was opened: refresh recents. */
  async viewed(): Promise<void> {
    const ws = this._workspaceId;
    if (ws === null) {
      return;
    }
    try {
      this.recents = await this.client.listRecents(ws);
      this._changed.emit();
    } catch {
      // recents are a convenience
    }
  }

  dispose(): void {
    this.events?.received.disconnect(this._onEvent, this);
    Signal.clearData(this);
  }

  private async _patch(id: number, change: Record<string, unknown>): Promise<boolean> {
    return !!(await this._act(`dashboard:${id}`, async () => {
      // the version we last saw: if someone saved since, the server answers 409
      const version = this.dashboards.find(d => d.id === id)?.version ?? 1;
      await this.client.patchDashboard(id, { version, ...change });
      await this.refresh();
      return true;
    }));
  }

  private async _act<T>(key: string, fn: () => Promise<T>): Promise<T | null> {
    this._busy.add(key);
    this._errors.delete(key);
    this._changed.emit();
    try {
      return await fn();
    } catch (err) {
      this._errors.set(key, toErrorInfo(err));
      return null;
    } finally {
      this._busy.delete(key);
      this._changed.emit();
    }
  }

  private _onEvent(_: LiveEvents, event: ILiveEvent): void {
    if (event.workspace_id !== this._workspaceId) {
      return;
    }
    if (event.event.startsWith('dashboard.') || event.event === 'folder.changed') {
      window.clearTimeout(this._refreshTimer);
      this._refreshTimer = window.setTimeout(() => void this.refresh(), 150);
    }
    this._eventReceived.emit(event);
  }

  private _changed = new Signal<this, void>(this);
  private _eventReceived = new Signal<this, ILiveEvent>(this);
  private _workspaceId: number | null = null;
  private _errors = new Map<string, IErrorInfo>();
  private _busy = new Set<string>();
  private _refreshTimer = 0;
}
