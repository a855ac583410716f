// The dashboards store against an in-memory API (the real client's interface): which
// workspace it picks, inline errors per action, unique names, refresh on live events.
import { beforeAll, describe, expect, it } from 'vitest';

import { DataAskApiError } from '../api';
import { DashboardsStore } from '../dashboardsStore';
import type { IDashboardSummary, IFolder, IWorkspace } from '../types';

beforeAll(() => {
  const mem = new Map<string, string>();
  (globalThis as any).window = {
    localStorage: {
      getItem: (k: string) => mem.get(k) ?? null,
      setItem: (k: string, v: string) => void mem.set(k, v)
    },
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (t: any) => clearTimeout(t)
  };
});

class MemoryApi {
  workspaces: IWorkspace[] = [
    { id: 1, name: 'team', theme: {}, role: 'editor' },
    { id: 2, name: 'default', theme: {}, role: 'admin' }
  ];
  folders: IFolder[] = [];
  dashboards: IDashboardSummary[] = [];
  calls: string[] = [];
  next = 10;

  async listWorkspaces() {
    return this.workspaces;
  }
  async listTemplates() {
    return [];
  }
  async listFolders(ws: number) {
    return this.folders.filter(f => f.workspace_id === ws);
  }
  async listDashboards(ws: number) {
    this.calls.push(`list ${ws}`);
    return this.dashboards.filter(d => d.workspace_id === ws).map(d => ({ ...d }));
  }
  async listRecents() {
    return [];
  }
  async createDashboard(ws: number, body: { name: string }) {
    const d = {
      id: this.next++,
      workspace_id: ws,
      name: body.name,
      description: '',
      tags: [],
      folder_id: null,
      owner: 'me',
      private: false,
      template: 'blank',
      version: 1,
      widget_count: 0
    };
    this.dashboards.push(d);
    return { ...d, layout: { columns: 12, row_height: 80 }, widgets: [], access: 'admin' };
  }
  async patchDashboard(id: number, body: { version: number; name?: string }) {
    const d = this.dashboards.find(x => x.id === id)!;
    if (body.version !== d.version) {
      throw new DataAskApiError('conflict', 'The dashboard changed since version 1.', 409);
    }
    d.name = body.name ?? d.name;
    d.version++;
    return d;
  }
  async deleteFolder() {
    throw new DataAskApiError('forbidden', 'Editors only.', 403);
  }
}

describe('DashboardsStore', () => {
  it('picks the default workspace, remembers a switch, and lists its dashboards', async () => {
    const api = new MemoryApi();
    const store = new DashboardsStore(api as any);
    await store.start();
    expect(store.workspace?.name).toBe('default');
    expect(store.loadState).toBe('ready');
    await store.selectWorkspace(1);
    expect(api.calls).toEqual(['list 2', 'list 1']);
    const again = new DashboardsStore(api as any);
    await again.start();
    expect(again.workspaceId).toBe(1);
  });

  it('creates with a unique name and keeps errors with the action that failed', async () => {
    const api = new MemoryApi();
    const store = new DashboardsStore(api as any);
    await store.start();
    await store.selectWorkspace(2);
    await store.createDashboard({ name: 'Sales' });
    const second = await store.createDashboard({ name: 'sales' });
    expect(second?.name).toBe('sales (2)');
    expect(store.dashboards.map(d => d.name).sort()).toEqual(['Sales', 'sales (2)']);

    // someone else renamed it meanwhile: the 409 stays on that row, nothing else fails
    api.dashboards[0].version = 5;
    expect(await store.renameDashboard(api.dashboards[0].id, 'Revenue')).toBe(false);
    expect(store.error(`dashboard:${api.dashboards[0].id}`)?.status).toBe(409);
    expect(store.error('create')).toBeUndefined();
    await store.refresh();
    expect(await store.renameDashboard(api.dashboards[0].id, 'Revenue')).toBe(true);
    expect(store.error(`dashboard:${api.dashboards[0].id}`)).toBeUndefined();

    expect(await store.deleteFolder(3)).toBe(false);
    expect(store.error('folder:3')?.message).toBe('Editors only.');
    store.clearError('folder:3');
    expect(store.error('folder:3')).toBeUndefined();
  });

  it('filters without losing the list', async () => {
    const api = new MemoryApi();
    const store = new DashboardsStore(api as any);
    await store.start();
    store.setFilter({ text: 'x' });
    store.setFilter({ tag: 'ops' });
    expect(store.filter).toEqual({ text: 'x', tag: 'ops' });
  });
});
