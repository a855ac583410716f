/**
 * The quick switcher (Ctrl/Cmd+K): a palette-like dialog with fuzzy search over what
 * DataAsk knows. Sources are pluggable: connections today; dashboards and datasets join
 * when the server has them.
 */

import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import React, { useEffect, useId, useMemo, useRef, useState } from 'react';

import { fuzzyFilter, highlightRuns, IFuzzyResult } from './model';
import type { HealthStatus } from './types';

/** One thing to switch to. */
export interface ISwitcherItem {
  kind: 'connection' | 'dashboard' | 'dataset';
  /** Unique within its kind. */
  id: string;
  label: string;
  /** Secondary text (also searched, at a lower weight). */
  detail: string;
  status?: HealthStatus;
}

/** Where items come from. */
export interface ISwitcherSource {
  kind: ISwitcherItem['kind'];
  /** A noun for empty states, e.g. "connections". */
  noun: string;
  items(): Promise<ISwitcherItem[]>;
}

const MAX_RESULTS = 50;

interface IListProps {
  items: ISwitcherItem[] | null;
  error: string | null;
  emptyHint: string;
  onActive: (item: ISwitcherItem | null) => void;
  onAccept: () => void;
}

function SwitcherList(props: IListProps): JSX.Element {
  const id = useId();
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const listRef = useRef<HTMLUListElement>(null);

  const results: IFuzzyResult<ISwitcherItem>[] = useMemo(
    () =>
      props.items
        ? fuzzyFilter(
            query,
            props.items,
            it => [it.label, it.detail],
            MAX_RESULTS
          )
        : [],
    [query, props.items]
  );
  const index = Math.min(active, Math.max(0, results.length - 1));
  const current = results[index]?.item ?? null;

  useEffect(() => {
    props.onActive(current);
  }, [current]);

  useEffect(() => {
    listRef.current
      ?.querySelector(`[data-index="${index}"]`)
      ?.scrollIntoView({ block: 'nearest' });
  }, [index]);

  const move = (delta: number) => {
    if (results.length) {
      setActive((index + delta + results.length) % results.length);
    }
  };

  let status: string;
  if (props.error) {
    status = props.error;
  } else if (!props.items) {
    status = 'Loading…';
  } else if (props.items.length === 0) {
    status = props.emptyHint;
  } else if (!results.length) {
    status = `Nothing matches “${query}”.`;
  } else {
    status = `${results.length} of ${props.items.length}`;
  }

  return (
    <div className="jp-DataAsk-switcher">
      <input
        className="jp-mod-styled jp-DataAsk-switcherInput"
        type="text"
        role="combobox"
        aria-label="Search connections"
        aria-expanded={results.length > 0}
        aria-controls={`${id}-list`}
        aria-activedescendant={current ? `${id}-opt-${index}` : undefined}
        aria-autocomplete="list"
        autoComplete="off"
        spellCheck={false}
        placeholder="Type to search connections…"
        value={query}
        onChange={e => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={e => {
          if (e.key === 'ArrowDown' || (e.key === 'n' && e.ctrlKey)) {
            e.preventDefault();
            move(1);
          } else if (e.key === 'ArrowUp' || (e.key === 'p' && e.ctrlKey)) {
            e.preventDefault();
            move(-1);
          } else if (e.key === 'PageDown') {
            e.preventDefault();
            setActive(Math.min(results.length - 1, index + 8));
          } else if (e.key === 'PageUp') {
            e.preventDefault();
            setActive(Math.max(0, index - 8));
          }
        }}
      />
      <ul
        id={`${id}-list`}
        ref={listRef}
        className="jp-DataAsk-switcherList"
        role="listbox"
        aria-label="Matches"
      >
        {results.map((r, i) => (
          <li
            key={`${r.item.kind}:${r.item.id}`}
            id={`${id}-opt-${i}`}
            data-index={i}
            role="option"
            aria-selected={i === index}
            className={
              'jp-DataAsk-switcherItem' + (i === index ? ' jp-mod-active' : '')
            }
            onMouseMove={() => i !== index && setActive(i)}
            onMouseDown={e => e.preventDefault() /* keep focus in the input */}
            onClick={() => {
              setActive(i);
              props.onActive(r.item);
              props.onAccept();
            }}
          >
            {r.item.status ? (
              <span
                className="jp-DataAsk-dot"
                data-status={r.item.status}
                aria-hidden="true"
              />
            ) : null}
            <span className="jp-DataAsk-switcherLabel">
              {highlightRuns(r.item.label, r.indices).map((run, k) =>
                run.match ? <mark key={k}>{run.text}</mark> : run.text
              )}
            </span>
            <span className="jp-DataAsk-switcherDetail">{r.item.detail}</span>
            <span className="jp-DataAsk-switcherKind">{r.item.kind}</span>
          </li>
        ))}
      </ul>
      <div className="jp-DataAsk-switcherStatus" role="status" aria-live="polite">
        {status}
      </div>
    </div>
  );
}

/** The dialog body: loads the sources, then lets the list do the rest. */
class SwitcherBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ISwitcherItem | null>
{
  constructor(private readonly _sources: ISwitcherSource[]) {
    super();
    this.addClass('jp-DataAsk-switcherBody');
    void this._load();
  }

  /** Called when an item is clicked (the dialog resolves with it). */
  onAccept: () => void = () => undefined;

  getValue(): ISwitcherItem | null {
    return this._active;
  }

  protected render(): JSX.Element {
    const nouns = this._sources.map(s => s.noun).join(' or ');
    return (
      <SwitcherList
        items={this._items}
        error={this._error}
        emptyHint={`No ${nouns} yet. Add a connection in the DataAsk sidebar.`}
        onActive={item => {
          this._active = item;
        }}
        onAccept={() => this.onAccept()}
      />
    );
  }

  private async _load(): Promise<void> {
    try {
      const lists = await Promise.all(this._sources.map(s => s.items()));
      this._items = lists.flat();
    } catch (err) {
      this._items = [];
      this._error = `Could not load: ${(err as Error)?.message ?? err}`;
    }
    this.update();
  }

  private _active: ISwitcherItem | null = null;
  private _error: string | null = null;
  private _items: ISwitcherItem[] | null = null;
}

/** Open the switcher; resolves with the chosen item, or `null` when cancelled. */
export async function openQuickSwitcher(
  sources: ISwitcherSource[]
): Promise<ISwitcherItem | null> {
  const body = new SwitcherBody(sources);
  const dialog = new Dialog<ISwitcherItem | null>({
    title: 'Go to…',
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Go', ariaLabel: 'Go to the selected item' })
    ],
    defaultButton: 1,
    focusNodeSelector: 'input',
    hasClose: true
  });
  dialog.addClass('jp-DataAsk-switcherDialog');
  body.onAccept = () => dialog.resolve(1);
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
