/**
 * The DataAsk sidebar (left area): a JupyterLab side panel with collapsible sections.
 * Today: Connections. Workspaces, dashboards and the ask box come as sections later.
 */

import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import {
  addIcon,
  PanelWithToolbar,
  refreshIcon,
  SidePanel,
  ToolbarButton
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import React from 'react';

import { ConnectionsView } from './components/ConnectionsView';
import { dataaskIcon } from './icons';
import type { ConnectionsStore } from './store';
import type { IConnectionInfo } from './types';

export const SIDEBAR_ID = 'dataask-sidebar';
const HIGHLIGHT_MS = 1600;

/** Ask before removing: what stops working, and that it cannot be undone. */
export async function confirmRemove(name: string): Promise<boolean> {
  const body = document.createElement('div');
  body.className = 'jp-DataAsk-confirm';
  const p1 = document.createElement('p');
  p1.textContent = `Queries, %%federate cells and dashboard widgets that use “${name}” will stop working, and its saved password is deleted.`;
  const p2 = document.createElement('p');
  p2.textContent = 'This cannot be undone.';
  body.append(p1, p2);
  const result = await showDialog({
    title: `Remove connection “${name}”?`,
    body: new Widget({ node: body }),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Remove', ariaLabel: `Remove ${name}` })
    ],
    defaultButton: 0
  });
  return result.button.accept;
}

/** The React body of the Connections section. */
export class ConnectionsBody extends ReactWidget {
  constructor(readonly store: ConnectionsStore) {
    super();
    this.addClass('jp-DataAsk-connectionsBody');
  }

  get formOpen(): boolean {
    return this._formOpen;
  }

  /** Show the add form (and focus its first field). */
  openForm(): void {
    this._formOpen = true;
    this.update();
  }

  /** Scroll to a connection row, focus it and flash it. */
  async focusConnection(name: string): Promise<boolean> {
    await this.renderPromise;
    const row = Array.from(
      this.node.querySelectorAll<HTMLElement>('.jp-DataAsk-connection')
    ).find(el => el.dataset.name === name);
    if (!row) {
      return false;
    }
    row.scrollIntoView({ block: 'nearest' });
    row.focus();
    row.classList.add('jp-mod-highlight');
    window.setTimeout(() => row.classList.remove('jp-mod-highlight'), HIGHLIGHT_MS);
    return true;
  }

  protected render(): JSX.Element {
    return (
      <ConnectionsView
        store={this.store}
        formOpen={this._formOpen}
        onOpenForm={() => this.openForm()}
        onCloseForm={saved => this._closeForm(saved)}
        onRemove={async name => {
          if (await confirmRemove(name)) {
            await this.store.remove(name);
          }
        }}
      />
    );
  }

  private _closeForm(saved: IConnectionInfo | null): void {
    this._formOpen = false;
    this.update();
    if (saved) {
      void this.focusConnection(saved.name);
    }
  }

  private _formOpen = false;
}

/** Ask before deleting something: what goes, and that it cannot be undone. */
export async function confirmDelete(what: string, detail: string): Promise<boolean> {
  const body = document.createElement('div');
  body.className = 'jp-DataAsk-confirm';
  const p = document.createElement('p');
  p.textContent = detail;
  body.append(p);
  const result = await showDialog({
    title: `Delete ${what}?`,
    body: new Widget({ node: body }),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Delete', ariaLabel: `Delete ${what}` })
    ],
    defaultButton: 0
  });
  return result.button.accept;
}

/** A yes/no question with a custom accept label. */
export async function confirmAction(title: string, text: string, accept: string): Promise<boolean> {
  const body = document.createElement('div');
  body.className = 'jp-DataAsk-confirm';
  body.textContent = text;
  const result = await showDialog({
    title,
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: accept })],
    defaultButton: 0
  });
  return result.button.accept;
}

/** The sidebar: header, then one accordion section per feature. */
export class DataAskSidebar extends SidePanel {
  constructor(readonly store: ConnectionsStore) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-DataAsk-sidebar');
    this.title.icon = dataaskIcon;
    this.title.caption = 'DataAsk';
    this.node.setAttribute('role', 'complementary');
    this.node.setAttribute('aria-label', 'DataAsk');

    const heading = document.createElement('h2');
    heading.textContent = 'DataAsk';
    heading.className = 'jp-DataAsk-title';
    this.header.addWidget(new Widget({ node: heading }));

    this.connections = new ConnectionsBody(store);
    const section = new PanelWithToolbar();
    section.id = 'dataask-connections-section';
    section.addClass('jp-DataAsk-section');
    section.title.label = 'Connections';
    section.title.caption = 'Databases DataAsk can query, with live health';
    section.toolbar.addItem(
      'add',
      new ToolbarButton({
        icon: addIcon,
        tooltip: 'Add connection',
        onClick: () => this.openAddForm()
      })
    );
    section.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh health',
        onClick: () => void store.refresh()
      })
    );
    section.addWidget(this.connections);
    this.addWidget(section);
    this._section = section;
    store.active = false;
  }

  readonly connections: ConnectionsBody;

  /** Add a collapsible section (Dashboards, Ask...) with its toolbar buttons. */
  addSection(
    id: string,
    label: string,
    caption: string,
    body: Widget,
    buttons: ToolbarButton[] = []
  ): PanelWithToolbar {
    const section = new PanelWithToolbar();
    section.id = id;
    section.addClass('jp-DataAsk-section');
    section.title.label = label;
    section.title.caption = caption;
    buttons.forEach((b, i) => section.toolbar.addItem(`button-${i}`, b));
    section.addWidget(body);
    this.addWidget(section);
    return section;
  }

  /** Expand a section by its id. */
  expandSection(id: string): void {
    const content = this.content as unknown as {
      expand?: (index: number) => void;
      widgets: readonly Widget[];
    };
    const index = content.widgets.findIndex(w => w.id === id);
    if (index >= 0 && typeof content.expand === 'function') {
      content.expand(index);
    }
  }

  /** Expand the Connections section and show the add form. */
  openAddForm(): void {
    this._expand();
    this.connections.openForm();
  }

  /** Expand the Connections section and focus one row. */
  focusConnection(name: string): Promise<boolean> {
    this._expand();
    return this.connections.focusConnection(name);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.store.active = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.store.active = false;
  }

  private _expand(): void {
    const content = this.content as unknown as {
      expand?: (index: number) => void;
      widgets: readonly Widget[];
    };
    const index = content.widgets.indexOf(this._section);
    if (index >= 0 && typeof content.expand === 'function') {
      content.expand(index);
    }
  }

  private _section: PanelWithToolbar;
}
