/**
 * The Dashboards section: workspace switcher, search and tag filter, "New dashboard" from
 * a template, new folder, recently viewed, and the folder tree (open, rename, move, clone,
 * delete). Errors show under the row or form where the action happened.
 */

import {
  addIcon,
  caretDownIcon,
  caretRightIcon,
  copyIcon,
  deleteIcon,
  editIcon,
  folderIcon,
  newFolderIcon,
  searchIcon
} from '@jupyterlab/ui-components';
import React, { useEffect, useReducer, useRef, useState } from 'react';

import {
  allTags,
  buildTree,
  folderPath,
  isEmptyFilter,
  ITreeNode,
  moveTargets,
  recentsFor,
  validateItemName
} from '../dashboards';
import type { DashboardsStore } from '../dashboardsStore';
import type { IErrorInfo } from '../model';
import type { IDashboardSummary, IFolder, ITemplate } from '../types';

export function useSignalStore(store: { changed: DashboardsStore['changed'] }): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const on = () => bump();
    store.changed.connect(on);
    return () => {
      store.changed.disconnect(on);
    };
  }, [store]);
}

/** The tag filter shared by the dashboards tree and the gallery (nothing when no dashboard has tags). */
export function TagFilter(props: {
  store: DashboardsStore;
  tags: string[];
  label: string;
  className: string;
}): JSX.Element | null {
  const { store, tags } = props;
  if (tags.length === 0) {
    return null;
  }
  return (
    <select
      className={props.className}
      aria-label={props.label}
      value={store.filter.tag ?? ''}
      onChange={e => store.setFilter({ tag: e.target.value || null })}
    >
      <option value="">All tags</option>
      {tags.map(t => (
        <option key={t} value={t}>
          #{t}
        </option>
      ))}
    </select>
  );
}

export function InlineError(props: { error?: IErrorInfo | null; id?: string }): JSX.Element | null {
  if (!props.error) {
    return null;
  }
  return (
    <div className="jp-DataAsk-inlineError" role="alert" id={props.id}>
      {props.error.message}
    </div>
  );
}

export interface IDashboardsViewProps {
  store: DashboardsStore;
  onOpen: (id: number) => void;
  onOpenGallery: () => void;
  confirmDelete: (what: string, detail: string) => Promise<boolean>;
  /** Connection names of a workspace (for template placeholders). */
  listConnections: (workspace: string) => Promise<string[]>;
}

type Editing =
  | { kind: 'rename-dashboard' | 'move-dashboard'; id: number }
  | { kind: 'rename-folder' | 'move-folder'; id: number }
  | null;

export function DashboardsView(props: IDashboardsViewProps): JSX.Element {
  const { store } = props;
  useSignalStore(store);
  const [form, setForm] = useState<'dashboard' | 'folder' | 'workspace' | null>(null);
  const [editing, setEditing] = useState<Editing>(null);
  const [collapsed, setCollapsed] = useState<Set<number>>(new Set());
  const treeRef = useRef<HTMLUListElement>(null);

  const ws = store.workspace;
  const tags = allTags(store.dashboards);
  const tree = buildTree(store.folders, store.dashboards, store.filter);
  const filtering = !isEmptyFilter(store.filter);
  const recents = filtering || !ws ? [] : recentsFor(store.recents, ws.id, store.dashboards);
  const canEdit = ws?.role === 'editor' || ws?.role === 'admin';

  const toggle = (id: number) =>
    setCollapsed(prev => {
      const next = new Set(prev);
      next.has(id) ? next.delete(id) : next.add(id);
      return next;
    });

  const onTreeKey = (e: React.KeyboardEvent) => {
    const items = Array.from(
      treeRef.current?.querySelectorAll<HTMLElement>('[role="treeitem"]') ?? []
    );
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (i < 0) {
      return;
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[Math.max(0, Math.min(items.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))].focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      items[e.key === 'Home' ? 0 : items.length - 1].focus();
    }
  };

  return (
    <div className="jp-DataAsk-dashboards">
      <div className="jp-DataAsk-row">
        <label className="jp-DataAsk-label" htmlFor="dataask-workspace-select">
          Workspace
        </label>
        <div className="jp-DataAsk-controlRow">
          <select
            id="dataask-workspace-select"
            className="jp-mod-styled jp-DataAsk-select"
            value={store.workspaceId ?? ''}
            disabled={!store.workspaces.length}
            onChange={e => void store.selectWorkspace(Number(e.target.value))}
          >
            {!store.workspaces.length && <option value="">No workspace</option>}
            {store.workspaces.map(w => (
              <option key={w.id} value={w.id}>
                {w.name} ({w.role})
              </option>
            ))}
          </select>
          <button
            type="button"
            className="jp-DataAsk-iconButton"
            aria-label="New workspace"
            title="New workspace…"
            onClick={() => setForm(form === 'workspace' ? null : 'workspace')}
          >
            <addIcon.react tag="span" elementSize="normal" />
          </button>
        </div>
      </div>
      {form === 'workspace' && (
        <NameForm
          label="Workspace name"
          submit="Create workspace"
          busy={store.busy('workspace')}
          error={store.error('workspace')}
          onCancel={() => {
            store.clearError('workspace');
            setForm(null);
          }}
          onSubmit={async name => {
            if (await store.createWorkspace(name)) {
              setForm(null);
            }
          }}
        />
      )}

      <div className="jp-DataAsk-search">
        <searchIcon.react tag="span" elementSize="normal" className="jp-DataAsk-searchIcon" />
        <input
          type="search"
          className="jp-mod-styled jp-DataAsk-input"
          placeholder="Search dashboards"
          aria-label="Search dashboards"
          value={store.filter.text}
          onChange={e => store.setFilter({ text: e.target.value })}
          onKeyDown={e => {
            if (e.key === 'Escape') {
              store.setFilter({ text: '' });
            } else if (e.key === 'ArrowDown') {
              e.preventDefault();
              treeRef.current?.querySelector<HTMLElement>('[role="treeitem"]')?.focus();
            }
          }}
        />
        <TagFilter
          store={store}
          tags={tags}
          label="Filter by tag"
          className="jp-mod-styled jp-DataAsk-select jp-DataAsk-tagSelect"
        />
      </div>

      <div className="jp-DataAsk-toolbarRow">
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept jp-DataAsk-button"
          disabled={!ws || !canEdit}
          title={canEdit ? 'Create a dashboard from a template' : 'Editors can create dashboards'}
          onClick={() => setForm(form === 'dashboard' ? null : 'dashboard')}
        >
          New dashboard
        </button>
        <button
          type="button"
          className="jp-DataAsk-iconButton"
          aria-label="New folder"
          title="New folder…"
          disabled={!ws || !canEdit}
          onClick={() => setForm(form === 'folder' ? null : 'folder')}
        >
          <newFolderIcon.react tag="span" elementSize="normal" />
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-DataAsk-button"
          disabled={!ws}
          title="All dashboards of this workspace as thumbnails"
          onClick={props.onOpenGallery}
        >
          Gallery
        </button>
      </div>

      {form === 'dashboard' && ws && (
        <NewDashboardForm
          templates={store.templates}
          folders={store.folders}
          busy={store.busy('create')}
          error={store.error('create')}
          listConnections={() => props.listConnections(ws.name)}
          onCancel={() => {
            store.clearError('create');
            setForm(null);
          }}
          onCreate={async (name, template, mapping, folderId) => {
            const out = await store.createDashboard({
              name,
              template,
              template_connections: mapping,
              folder_id: folderId
            });
            if (out) {
              setForm(null);
              props.onOpen(out.id);
            }
          }}
        />
      )}
      {form === 'folder' && (
        <NameForm
          label="Folder name"
          submit="Create folder"
          busy={store.busy('folder')}
          error={store.error('folder')}
          parents={store.folders}
          onCancel={() => {
            store.clearError('folder');
            setForm(null);
          }}
          onSubmit={async (name, parent) => {
            if (await store.createFolder(name, parent ?? null)) {
              setForm(null);
            }
          }}
        />
      )}

      {store.loadState === 'error' && (
        <div className="jp-DataAsk-empty" role="alert">
          <p className="jp-DataAsk-emptyTitle">Could not load dashboards</p>
          <p>{store.loadError?.message}</p>
          <button type="button" className="jp-mod-styled jp-DataAsk-button" onClick={() => void store.start()}>
            Retry
          </button>
        </div>
      )}
      {store.loadState === 'loading' && (
        <ul className="jp-DataAsk-list" aria-hidden="true">
          {[0, 1, 2].map(i => (
            <li key={i} className="jp-DataAsk-treeRow jp-DataAsk-skeleton">
              <span className="jp-DataAsk-skeletonBlock jp-DataAsk-skeletonLine" />
            </li>
          ))}
        </ul>
      )}

      {store.loadState === 'ready' && recents.length > 0 && (
        <div className="jp-DataAsk-recents">
          <h3 className="jp-DataAsk-subheading">Recently viewed</h3>
          <ul className="jp-DataAsk-list" aria-label="Recently viewed dashboards">
            {recents.map(d => (
              <li key={d.id}>
                <button
                  type="button"
                  className="jp-DataAsk-linkButton jp-DataAsk-recent"
                  data-id={d.id}
                  onClick={() => props.onOpen(d.id)}
                >
                  {d.name}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      {store.loadState === 'ready' && ws && (
        <>
          {tree.count === 0 && tree.folders.length === 0 ? (
            <div className="jp-DataAsk-empty jp-DataAsk-dashEmpty">
              {filtering ? (
                <>
                  <p className="jp-DataAsk-emptyTitle">No dashboards match</p>
                  <p>Nothing in “{ws.name}” matches your search.</p>
                  <button
                    type="button"
                    className="jp-mod-styled jp-DataAsk-button"
                    onClick={() => store.setFilter({ text: '', tag: null })}
                  >
                    Clear search
                  </button>
                </>
              ) : (
                <>
                  <p className="jp-DataAsk-emptyTitle">No dashboards yet</p>
                  <p>
                    Create one from a template with <strong>New dashboard</strong>, or ask a
                    question below and pin its chart.
                  </p>
                </>
              )}
            </div>
          ) : (
            <ul
              className="jp-DataAsk-tree"
              role="tree"
              aria-label={`Dashboards of ${ws.name}`}
              ref={treeRef}
              onKeyDown={onTreeKey}
            >
              <TreeChildren
                node={tree}
                depth={0}
                {...props}
                canEdit={canEdit}
                collapsed={filtering ? new Set() : collapsed}
                toggle={toggle}
                editing={editing}
                setEditing={setEditing}
              />
            </ul>
          )}
        </>
      )}
      {store.loadState === 'ready' && !ws && (
        <div className="jp-DataAsk-empty">
          <p className="jp-DataAsk-emptyTitle">No workspace</p>
          <p>Create a workspace with the + button to hold your dashboards.</p>
        </div>
      )}
    </div>
  );
}

interface ITreeProps extends IDashboardsViewProps {
  node: ITreeNode;
  depth: number;
  canEdit: boolean;
  collapsed: Set<number>;
  toggle: (id: number) => void;
  editing: Editing;
  setEditing: (e: Editing) => void;
}

function TreeChildren(props: ITreeProps): JSX.Element {
  const { node } = props;
  return (
    <>
      {node.folders.map(child => (
        <FolderItem key={`f${child.folder!.id}`} {...props} node={child} />
      ))}
      {node.dashboards.map(d => (
        <DashboardItem key={`d${d.id}`} {...props} dashboard={d} />
      ))}
    </>
  );
}

function FolderItem(props: ITreeProps): JSX.Element {
  const { node, store, editing, setEditing, depth } = props;
  const folder = node.folder!;
  const open = !props.collapsed.has(folder.id);
  const key = `folder:${folder.id}`;
  const renaming = editing?.kind === 'rename-folder' && editing.id === folder.id;
  const moving = editing?.kind === 'move-folder' && editing.id === folder.id;
  return (
    <li role="none" className="jp-DataAsk-treeGroup">
      <div
        role="treeitem"
        aria-expanded={open}
        aria-level={depth + 1}
        aria-label={`Folder ${folder.name}, ${node.count} dashboards`}
        tabIndex={0}
        className="jp-DataAsk-treeRow jp-DataAsk-folder"
        data-folder-id={folder.id}
        style={{ paddingLeft: `${4 + depth * 14}px` }}
        onClick={e => {
          if ((e.target as HTMLElement).closest('button,input,select,form')) {
            return;
          }
          props.toggle(folder.id);
        }}
        onKeyDown={e => {
          if (e.target !== e.currentTarget) {
            return;
          }
          if (e.key === 'Enter' || (e.key === 'ArrowRight' && !open) || (e.key === 'ArrowLeft' && open)) {
            e.preventDefault();
            props.toggle(folder.id);
          } else if (e.key === 'F2' && props.canEdit) {
            setEditing({ kind: 'rename-folder', id: folder.id });
          }
        }}
      >
        {open ? (
          <caretDownIcon.react tag="span" elementSize="normal" />
        ) : (
          <caretRightIcon.react tag="span" elementSize="normal" />
        )}
        <folderIcon.react tag="span" elementSize="normal" />
        {renaming ? (
          <InlineName
            initial={folder.name}
            label={`New name of folder ${folder.name}`}
            onCancel={() => setEditing(null)}
            onSubmit={async name => {
              if (await store.renameFolder(folder.id, name)) {
                setEditing(null);
              }
            }}
          />
        ) : (
          <span className="jp-DataAsk-treeName">{folder.name}</span>
        )}
        <span className="jp-DataAsk-treeCount">{node.count}</span>
        {props.canEdit && !renaming && (
          <RowActions
            name={folder.name}
            noun="folder"
            onRename={() => setEditing({ kind: 'rename-folder', id: folder.id })}
            onMove={() => setEditing(moving ? null : { kind: 'move-folder', id: folder.id })}
            onDelete={async () => {
              if (
                await props.confirmDelete(
                  `folder “${folder.name}”`,
                  'Its dashboards and subfolders move up one level. Nothing else is deleted.'
                )
              ) {
                await store.deleteFolder(folder.id);
              }
            }}
          />
        )}
      </div>
      {moving && (
        <MoveForm
          folders={store.folders}
          moving={{ kind: 'folder', id: folder.id }}
          current={folder.parent_id}
          name={folder.name}
          onCancel={() => setEditing(null)}
          onMove={async target => {
            if (await store.moveFolder(folder.id, target)) {
              setEditing(null);
            }
          }}
        />
      )}
      <InlineError error={store.error(key)} />
      {open && (
        <ul role="group" className="jp-DataAsk-treeChildren">
          <TreeChildren {...props} depth={depth + 1} />
        </ul>
      )}
    </li>
  );
}

function DashboardItem(props: ITreeProps & { dashboard: IDashboardSummary }): JSX.Element {
  const { dashboard: d, store, editing, setEditing, depth } = props;
  const key = `dashboard:${d.id}`;
  const renaming = editing?.kind === 'rename-dashboard' && editing.id === d.id;
  const moving = editing?.kind === 'move-dashboard' && editing.id === d.id;
  const busy = store.busy(key);
  return (
    <li role="none">
      <div
        role="treeitem"
        aria-level={depth + 1}
        aria-label={`Dashboard ${d.name}`}
        aria-busy={busy}
        tabIndex={0}
        className="jp-DataAsk-treeRow jp-DataAsk-dashboard"
        data-id={d.id}
        data-name={d.name}
        title={`${d.name}\n${d.widget_count} widgets · version ${d.version}${d.tags.length ? ` · #${d.tags.join(' #')}` : ''}\nEnter opens; F2 renames; Delete deletes`}
        style={{ paddingLeft: `${22 + depth * 14}px` }}
        onClick={e => {
          if ((e.target as HTMLElement).closest('button,input,select,form')) {
            return;
          }
          props.onOpen(d.id);
        }}
        onKeyDown={e => {
          if (e.target !== e.currentTarget) {
            return;
          }
          if (e.key === 'Enter') {
            e.preventDefault();
            props.onOpen(d.id);
          } else if (e.key === 'F2' && props.canEdit) {
            setEditing({ kind: 'rename-dashboard', id: d.id });
          } else if (e.key === 'Delete' && props.canEdit) {
            e.preventDefault();
            void (async () => {
              if (await props.confirmDelete(`dashboard “${d.name}”`, 'Its widgets and its whole version history are deleted. This cannot be undone.')) {
                await store.deleteDashboard(d.id);
              }
            })();
          }
        }}
      >
        {renaming ? (
          <InlineName
            initial={d.name}
            label={`New name of dashboard ${d.name}`}
            onCancel={() => setEditing(null)}
            onSubmit={async name => {
              if (await store.renameDashboard(d.id, name)) {
                setEditing(null);
              }
            }}
          />
        ) : (
          <span className="jp-DataAsk-treeName">{d.name}</span>
        )}
        {!renaming && (
          <span className="jp-DataAsk-treeMeta">{d.widget_count} widgets</span>
        )}
        {!renaming && (
          <div className="jp-DataAsk-rowActions">
            <button
              type="button"
              className="jp-DataAsk-iconButton"
              aria-label={`Clone dashboard ${d.name}`}
              title="Clone (a copy you own)"
              disabled={busy}
              onClick={() => void store.cloneDashboard(d.id)}
            >
              <copyIcon.react tag="span" elementSize="normal" />
            </button>
            {props.canEdit && (
              <RowActions
                name={d.name}
                noun="dashboard"
                onRename={() => setEditing({ kind: 'rename-dashboard', id: d.id })}
                onMove={() => setEditing(moving ? null : { kind: 'move-dashboard', id: d.id })}
                onDelete={async () => {
                  if (
                    await props.confirmDelete(
                      `dashboard “${d.name}”`,
                      'Its widgets and its whole version history are deleted. This cannot be undone.'
                    )
                  ) {
                    await store.deleteDashboard(d.id);
                  }
                }}
              />
            )}
          </div>
        )}
      </div>
      {moving && (
        <MoveForm
          folders={store.folders}
          moving={{ kind: 'dashboard', id: d.id }}
          current={d.folder_id}
          name={d.name}
          onCancel={() => setEditing(null)}
          onMove={async target => {
            if (await store.moveDashboard(d.id, target)) {
              setEditing(null);
            }
          }}
        />
      )}
      <InlineError error={store.error(key)} />
    </li>
  );
}

function RowActions(props: {
  name: string;
  noun: string;
  onRename: () => void;
  onMove: () => void;
  onDelete: () => void;
}): JSX.Element {
  return (
    <>
      <button
        type="button"
        className="jp-DataAsk-iconButton"
        aria-label={`Rename ${props.noun} ${props.name}`}
        title="Rename (F2)"
        onClick={props.onRename}
      >
        <editIcon.react tag="span" elementSize="normal" />
      </button>
      <button
        type="button"
        className="jp-DataAsk-iconButton jp-DataAsk-textIcon"
        aria-label={`Move ${props.noun} ${props.name}`}
        title="Move to a folder"
        onClick={props.onMove}
      >
        ⇄
      </button>
      <button
        type="button"
        className="jp-DataAsk-iconButton"
        aria-label={`Delete ${props.noun} ${props.name}`}
        title="Delete…"
        onClick={props.onDelete}
      >
        <deleteIcon.react tag="span" elementSize="normal" />
      </button>
    </>
  );
}

function InlineName(props: {
  initial: string;
  label: string;
  onSubmit: (name: string) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const [value, setValue] = useState(props.initial);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      className="jp-DataAsk-inlineName"
      onSubmit={e => {
        e.preventDefault();
        const why = validateItemName(value);
        setProblem(why);
        if (!why) {
          void props.onSubmit(value);
        }
      }}
    >
      <input
        autoFocus
        className="jp-mod-styled jp-DataAsk-input"
        aria-label={props.label}
        aria-invalid={!!problem}
        value={value}
        onChange={e => setValue(e.target.value)}
        onKeyDown={e => {
          if (e.key === 'Escape') {
            e.preventDefault();
            props.onCancel();
          }
        }}
      />
      {problem && <span className="jp-DataAsk-inlineError">{problem}</span>}
    </form>
  );
}

function NameForm(props: {
  label: string;
  submit: string;
  busy: boolean;
  error?: IErrorInfo;
  /** Offer a parent folder (for new folders). */
  parents?: IFolder[];
  onSubmit: (name: string, parent?: number | null) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const [value, setValue] = useState('');
  const [parent, setParent] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      className="jp-DataAsk-miniForm"
      onSubmit={e => {
        e.preventDefault();
        const why = validateItemName(value);
        setProblem(why);
        if (!why) {
          void props.onSubmit(value, parent === '' ? null : Number(parent));
        }
      }}
    >
      <label className="jp-DataAsk-label">
        {props.label}
        <input
          autoFocus
          className="jp-mod-styled jp-DataAsk-input"
          value={value}
          onChange={e => setValue(e.target.value)}
          onKeyDown={e => e.key === 'Escape' && props.onCancel()}
        />
      </label>
      {props.parents && props.parents.length > 0 && (
        <label className="jp-DataAsk-label">
          Inside
          <select className="jp-mod-styled jp-DataAsk-select" value={parent} onChange={e => setParent(e.target.value)}>
            <option value="">Top level</option>
            {props.parents.map(f => (
              <option key={f.id} value={f.id}>
                {folderPath(props.parents!, f.id)}
              </option>
            ))}
          </select>
        </label>
      )}
      {problem && <div className="jp-DataAsk-inlineError">{problem}</div>}
      <InlineError error={props.error} />
      <div className="jp-DataAsk-formButtons">
        <button type="button" className="jp-mod-styled jp-mod-reject jp-DataAsk-button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button" disabled={props.busy}>
          {props.submit}
        </button>
      </div>
    </form>
  );
}

function MoveForm(props: {
  folders: IFolder[];
  moving: { kind: 'folder' | 'dashboard'; id: number };
  current: number | null;
  name: string;
  onMove: (target: number | null) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const targets = moveTargets(props.folders, props.moving);
  const [target, setTarget] = useState<string>(props.current === null ? '' : String(props.current));
  return (
    <form
      className="jp-DataAsk-miniForm jp-DataAsk-moveForm"
      onSubmit={e => {
        e.preventDefault();
        void props.onMove(target === '' ? null : Number(target));
      }}
    >
      <label className="jp-DataAsk-label">
        Move “{props.name}” to
        <select
          autoFocus
          className="jp-mod-styled jp-DataAsk-select"
          value={target}
          onChange={e => setTarget(e.target.value)}
        >
          {targets.map(t => (
            <option key={t.id ?? 'root'} value={t.id ?? ''}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <div className="jp-DataAsk-formButtons">
        <button type="button" className="jp-mod-styled jp-mod-reject jp-DataAsk-button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button">
          Move
        </button>
      </div>
    </form>
  );
}

function NewDashboardForm(props: {
  templates: ITemplate[];
  folders: IFolder[];
  busy: boolean;
  error?: IErrorInfo;
  listConnections: () => Promise<string[]>;
  onCreate: (
    name: string,
    template: string,
    mapping: Record<string, string>,
    folderId: number | null
  ) => Promise<void>;
  onCancel: () => void;
}): JSX.Element {
  const templates = props.templates.length
    ? props.templates
    : [{ name: 'blank', title: 'Blank', description: 'An empty dashboard.', widget_count: 0, connections: {} }];
  const [template, setTemplate] = useState(templates[0].name);
  const chosen = templates.find(t => t.name === template) ?? templates[0];
  const [name, setName] = useState('');
  const [folder, setFolder] = useState('');
  const [connections, setConnections] = useState<string[] | null>(null);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    props
      .listConnections()
      .then(names => live && setConnections(names))
      .catch(() => live && setConnections([]));
    return () => {
      live = false;
    };
  }, []);

  const placeholders = Object.entries(chosen.connections);
  const mapped = (ph: string, def: string) => mapping[ph] ?? (connections?.includes(def) ? def : connections?.[0] ?? def);

  return (
    <form
      className="jp-DataAsk-miniForm jp-DataAsk-newDashboard"
      aria-label="New dashboard"
      onSubmit={e => {
        e.preventDefault();
        const finalName = name.trim() || chosen.title;
        const why = validateItemName(finalName);
        setProblem(why);
        if (why) {
          return;
        }
        const m: Record<string, string> = {};
        for (const [ph, def] of placeholders) {
          m[ph] = mapped(ph, def);
        }
        void props.onCreate(finalName, chosen.name, m, folder === '' ? null : Number(folder));
      }}
    >
      <fieldset className="jp-DataAsk-templates">
        <legend className="jp-DataAsk-label">Template</legend>
        {templates.map(t => (
          <label key={t.name} className="jp-DataAsk-template" data-template={t.name}>
            <input
              type="radio"
              name="dataask-template"
              value={t.name}
              checked={t.name === chosen.name}
              onChange={() => setTemplate(t.name)}
            />
            <span>
              <strong>{t.title}</strong> · {t.widget_count} widgets
              <span className="jp-DataAsk-hint">{t.description}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <label className="jp-DataAsk-label">
        Name
        <input
          className="jp-mod-styled jp-DataAsk-input"
          placeholder={chosen.title}
          value={name}
          onChange={e => setName(e.target.value)}
        />
      </label>
      {placeholders.map(([ph, def]) => (
        <label key={ph} className="jp-DataAsk-label">
          Connection for “{ph}”
          {connections && connections.length > 0 ? (
            <select
              className="jp-mod-styled jp-DataAsk-select"
              value={mapped(ph, def)}
              onChange={e => setMapping({ ...mapping, [ph]: e.target.value })}
            >
              {connections.map(c => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          ) : (
            <span className="jp-DataAsk-hint">
              {connections === null
                ? 'Loading connections…'
                : `No connections in this workspace: the widgets will use “${def}” (add it under Connections).`}
            </span>
          )}
        </label>
      ))}
      {props.folders.length > 0 && (
        <label className="jp-DataAsk-label">
          Folder
          <select className="jp-mod-styled jp-DataAsk-select" value={folder} onChange={e => setFolder(e.target.value)}>
            <option value="">Top level</option>
            {props.folders.map(f => (
              <option key={f.id} value={f.id}>
                {folderPath(props.folders, f.id)}
              </option>
            ))}
          </select>
        </label>
      )}
      {problem && <div className="jp-DataAsk-inlineError">{problem}</div>}
      <InlineError error={props.error} />
      <div className="jp-DataAsk-formButtons">
        <button type="button" className="jp-mod-styled jp-mod-reject jp-DataAsk-button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-DataAsk-button" disabled={props.busy}>
          {props.busy ? 'Creating…' : 'Create'}
        </button>
      </div>
    </form>
  );
}
