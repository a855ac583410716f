/**
 * DataAsk for JupyterLab: the sidebar (connections with live health) and the quick
 * switcher (Ctrl/Cmd+K). Talks only to the DataAsk server extension under /dataask/api/.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ReactWidget, WidgetTracker } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { addIcon, refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import React from 'react';

import { DataAskClient } from './api';
import { rendermimeCharts } from './charts';
import { AskView } from './components/AskView';
import { DashboardsView } from './components/DashboardsView';
import { DashboardsStore } from './dashboardsStore';
import { DashboardEditor } from './editor';
import { LiveEvents } from './events';
import { DashboardGallery } from './gallery';
import { dataaskIcon } from './icons';
import { formatLatencyCompact } from './model';
import { confirmAction, confirmDelete, DataAskSidebar, SIDEBAR_ID } from './sidebar';
import { ConnectionsStore } from './store';
import { ISwitcherSource, openQuickSwitcher } from './switcher';

const PLUGIN_ID = 'dataask-jupyter:plugin';

export namespace CommandIDs {
  export const open = 'dataask:open';
  export const quickSwitcher = 'dataask:quick-switcher';
  export const addConnection = 'dataask:add-connection';
  export const refreshConnections = 'dataask:refresh-connections';
  export const openDashboard = 'dataask:open-dashboard';
  export const openGallery = 'dataask:open-gallery';
  export const newDashboard = 'dataask:new-dashboard';
  export const ask = 'dataask:ask';
}

const DEFAULT_POLL_SECONDS = 15;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'DataAsk sidebar (connections with live health) and quick switcher.',
  autoStart: true,
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette, INotebookTracker, IRenderMimeRegistry],
  activate: async (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const client = new DataAskClient(app.serviceManager.serverSettings);
    const store = new ConnectionsStore(client, {
      pollSeconds: DEFAULT_POLL_SECONDS
    });
    const sidebar = new DataAskSidebar(store);
    app.shell.add(sidebar, 'left', { rank: 650, type: 'DataAsk' });
    restorer?.add(sidebar, SIDEBAR_ID);

    const show = () => app.shell.activateById(SIDEBAR_ID);

    // dashboards: store, live events, editor tabs, gallery, ask box
    const events = new LiveEvents(client.eventsUrl(), client.serverSettings);
    const dashboards = new DashboardsStore(client, events);
    const renderChart = rendermimeCharts(rendermime);
    const editors = new WidgetTracker<DashboardEditor>({ namespace: 'dataask-dashboards' });
    // reopen the dashboard tabs that were open before a reload
    void restorer?.restore(editors, {
      command: CommandIDs.openDashboard,
      args: w => ({ id: w.dashboardId }),
      name: w => String(w.dashboardId)
    });
    const openDashboard = (id: number) => {
      const existing = editors.find(w => w.dashboardId === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const editor = new DashboardEditor({
        client,
        store: dashboards,
        dashboardId: id,
        renderChart,
        confirm: confirmAction
      });
      editor.title.icon = dataaskIcon;
      app.shell.add(editor, 'main');
      void editors.add(editor);
      app.shell.activateById(editor.id);
      return editor;
    };
    let gallery: DashboardGallery | null = null;
    const openGallery = () => {
      if (!gallery || gallery.isDisposed) {
        gallery = new DashboardGallery({ client, store: dashboards, onOpen: openDashboard });
        gallery.title.icon = dataaskIcon;
        app.shell.add(gallery, 'main');
      }
      app.shell.activateById(gallery.id);
    };
    const insertCell = (source: string): string => {
      const panel = notebooks?.currentWidget;
      if (!panel) {
        throw new Error('Open a notebook first: the cell goes below its active cell.');
      }
      const nb = panel.content;
      NotebookActions.insertBelow(nb);
      nb.activeCell?.model.sharedModel.setSource(source);
      app.shell.activateById(panel.id);
      return panel.title.label || 'the notebook';
    };
    const dashboardsBody = ReactWidget.create(
      React.createElement(DashboardsView, {
        store: dashboards,
        onOpen: openDashboard,
        onOpenGallery: openGallery,
        confirmDelete,
        listConnections: async (workspace: string) =>
          (await client.listConnections({ workspace })).connections.map(c => c.name)
      })
    );
    dashboardsBody.addClass('jp-DataAsk-dashboardsBody');
    sidebar.addSection('dataask-dashboards-section', 'Dashboards', 'Workspaces, folders and dashboards', dashboardsBody, [
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh dashboards',
        onClick: () => void dashboards.refresh()
      })
    ]);
    const askBody = ReactWidget.create(
      React.createElement(AskView, {
        client,
        store: dashboards,
        renderChart,
        insertCell,
        onOpenDashboard: openDashboard
      })
    );
    askBody.addClass('jp-DataAsk-askBody');
    sidebar.addSection('dataask-ask-section', 'Ask', 'Ask a question in plain language', askBody, [
      new ToolbarButton({
        icon: addIcon,
        tooltip: 'New question',
        onClick: () => {
          sidebar.expandSection('dataask-ask-section');
          (askBody.node.querySelector('textarea') as HTMLTextAreaElement | null)?.focus();
        }
      })
    ]);
    // the Connections section follows the workspace chosen in the Dashboards section
    dashboards.changed.connect(() => {
      const name = dashboards.workspace?.name;
      if (name && name !== (store.workspace ?? 'default')) {
        store.setWorkspace(name);
      }
    });
    void dashboards.start();

    const connectionSource: ISwitcherSource = {
      kind: 'connection',
      noun: 'connections',
      items: async () => {
        await store.refresh();
        if (store.loadState === 'error') {
          throw new Error(store.loadError?.message ?? 'unknown error');
        }
        return store.connections.map(c => ({
          kind: 'connection' as const,
          id: c.name,
          label: c.name,
          detail: `${c.family} · ${c.health.status} · ${formatLatencyCompact(c.health.latency_p50_ms, c.health.latency_p95_ms)}`,
          status: c.health.status
        }));
      }
    };

    const dashboardSource: ISwitcherSource = {
      kind: 'dashboard' as const,
      noun: 'dashboards',
      items: async () => {
        await dashboards.refresh();
        return dashboards.dashboards.map(d => ({
          kind: 'dashboard' as const,
          id: String(d.id),
          label: d.name,
          detail: `${dashboards.workspace?.name ?? ''} · ${d.widget_count} widgets`
        }));
      }
    };

    const { commands } = app;
    commands.addCommand(CommandIDs.openDashboard, {
      label: args => (args.id ? `Open Dashboard ${args.id}` : 'DataAsk: Open Dashboard'),
      execute: args => {
        const id = Number(args.id);
        if (Number.isFinite(id) && id > 0) {
          return openDashboard(id);
        }
      }
    });
    commands.addCommand(CommandIDs.openGallery, {
      label: 'DataAsk: Dashboards Gallery',
      caption: 'The current workspace’s dashboards as thumbnails',
      execute: openGallery
    });
    commands.addCommand(CommandIDs.newDashboard, {
      label: 'DataAsk: New Dashboard…',
      execute: () => {
        show();
        sidebar.expandSection('dataask-dashboards-section');
        (sidebar.node.querySelector('.jp-DataAsk-dashboards .jp-mod-accept') as HTMLButtonElement | null)?.click();
      }
    });
    commands.addCommand(CommandIDs.ask, {
      label: 'DataAsk: Ask a Question…',
      execute: () => {
        show();
        sidebar.expandSection('dataask-ask-section');
        (askBody.node.querySelector('textarea') as HTMLTextAreaElement | null)?.focus();
      }
    });
    commands.addCommand(CommandIDs.open, {
      label: 'Show DataAsk Sidebar',
      caption: 'Open the DataAsk sidebar',
      icon: args => (args.isPalette ? undefined : dataaskIcon),
      execute: show
    });
    commands.addCommand(CommandIDs.quickSwitcher, {
      label: 'DataAsk: Quick Switcher…',
      caption: 'Search connections (dashboards and datasets later) and go there',
      execute: async () => {
        const item = await openQuickSwitcher([dashboardSource, connectionSource]);
        if (item?.kind === 'dashboard') {
          openDashboard(Number(item.id));
        } else if (item?.kind === 'connection') {
          show();
          await sidebar.focusConnection(item.id);
        }
        return item;
      }
    });
    commands.addCommand(CommandIDs.addConnection, {
      label: 'DataAsk: Add Connection…',
      caption: 'Connect a database (tested before it is saved)',
      execute: () => {
        show();
        sidebar.openAddForm();
      }
    });
    commands.addCommand(CommandIDs.refreshConnections, {
      label: 'DataAsk: Refresh Connection Health',
      execute: () => store.refresh()
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'DataAsk' });
      }
    }

    void store.start();

    if (settingRegistry) {
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        const apply = () => {
          const seconds = settings.get('healthPollSeconds').composite;
          store.setPollSeconds(
            typeof seconds === 'number' ? seconds : DEFAULT_POLL_SECONDS
          );
        };
        apply();
        settings.changed.connect(apply);
      } catch (reason) {
        console.error('DataAsk: could not load settings.', reason);
      }
    }
  }
};

export default plugin;
