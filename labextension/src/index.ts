/**
 * DataAsk for JupyterLab: the sidebar (connections with live health) and the quick
 * switcher (Ctrl/Cmd+K). Talks only to the DataAsk server extension under /dataask/api/.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { DataAskClient } from './api';
import { dataaskIcon } from './icons';
import { formatLatencyCompact } from './model';
import { DataAskSidebar, SIDEBAR_ID } from './sidebar';
import { ConnectionsStore } from './store';
import { ISwitcherSource, openQuickSwitcher } from './switcher';

const PLUGIN_ID = 'dataask-jupyter:plugin';

export namespace CommandIDs {
  export const open = 'dataask:open';
  export const quickSwitcher = 'dataask:quick-switcher';
  export const addConnection = 'dataask:add-connection';
  export const refreshConnections = 'dataask:refresh-connections';
}

const DEFAULT_POLL_SECONDS = 15;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'DataAsk sidebar (connections with live health) and quick switcher.',
  autoStart: true,
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette],
  activate: async (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const client = new DataAskClient(app.serviceManager.serverSettings);
    const store = new ConnectionsStore(client, {
      pollSeconds: DEFAULT_POLL_SECONDS
    });
    const sidebar = new DataAskSidebar(store);
    app.shell.add(sidebar, 'left', { rank: 650, type: 'DataAsk' });
    restorer?.add(sidebar, SIDEBAR_ID);

    const show = () => app.shell.activateById(SIDEBAR_ID);

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

    const { commands } = app;
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
        const item = await openQuickSwitcher([connectionSource]);
        if (item?.kind === 'connection') {
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
