/**
 * The "Add connection" form: name, URL, password; "Test" (nothing saved) then "Save"
 * (the server tests again and saves only if it works). Errors are shown in the form.
 */

import React, { useEffect, useId, useRef, useState } from 'react';

import { DataAskApiError, ProbeUnsupported } from '../api';
import { formatLatency, suggestName, validateName, validateUrl } from '../model';
import type { ConnectionsStore } from '../store';
import type { IConnectionInfo } from '../types';

type Outcome =
  | { kind: 'ok'; text: string }
  | { kind: 'info'; text: string }
  | { kind: 'error'; text: string; code?: string };

export interface IAddConnectionFormProps {
  store: ConnectionsStore;
  onDone: (saved: IConnectionInfo | null) => void;
}

function errorOutcome(err: unknown): Outcome {
  if (err instanceof ProbeUnsupported) {
    return { kind: 'info', text: err.message };
  }
  if (err instanceof DataAskApiError) {
    return { kind: 'error', text: err.message, code: err.code };
  }
  return { kind: 'error', text: String((err as Error)?.message ?? err) };
}

export function AddConnectionForm(props: IAddConnectionFormProps): JSX.Element {
  const { store, onDone } = props;
  const id = useId();
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [url, setUrl] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<'test' | 'save' | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [showInvalid, setShowInvalid] = useState(false);
  const urlRef = useRef<HTMLInputElement>(null);
  const mounted = useRef(true);

  useEffect(() => {
    urlRef.current?.focus();
    return () => {
      mounted.current = false;
    };
  }, []);

  const nameError = validateName(name);
  const urlError = validateUrl(url);
  const invalid = nameError !== null || urlError !== null;

  const onUrl = (value: string) => {
    setUrl(value);
    setOutcome(null);
    if (!nameTouched) {
      setName(suggestName(value));
    }
  };

  const payload = () => ({
    name,
    url: url.trim(),
    password: password || undefined
  });

  const test = async () => {
    if (invalid) {
      setShowInvalid(true);
      return;
    }
    setBusy('test');
    setOutcome(null);
    try {
      const r = await store.probe(payload());
      if (!mounted.current) {
        return;
      }
      setOutcome(
        r.ok
          ? {
              kind: 'ok',
              text: `Connection works (${formatLatency(r.latency_ms)}). Save to keep it.`
            }
          : { kind: 'error', text: r.message || 'The connection failed.' }
      );
    } catch (err) {
      if (mounted.current) {
        setOutcome(errorOutcome(err));
      }
    } finally {
      if (mounted.current) {
        setBusy(null);
      }
    }
  };

  const save = async (event?: React.FormEvent) => {
    event?.preventDefault();
    if (busy) {
      return;
    }
    if (invalid) {
      setShowInvalid(true);
      return;
    }
    setBusy('save');
    setOutcome(null);
    try {
      const info = await store.add(payload());
      if (mounted.current) {
        setPassword('');
        onDone(info);
      }
    } catch (err) {
      if (mounted.current) {
        setOutcome(errorOutcome(err));
        setBusy(null);
      }
    }
  };

  const cancel = () => {
    setPassword('');
    onDone(null);
  };

  const fieldError = (msg: string | null, fid: string) =>
    showInvalid && msg ? (
      <div id={fid} className="jp-DataAsk-fieldError">
        {msg}
      </div>
    ) : null;

  return (
    <form
      className="jp-DataAsk-form"
      aria-labelledby={`${id}-title`}
      autoComplete="off"
      noValidate
      onSubmit={save}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          cancel();
        }
      }}
    >
      <h4 id={`${id}-title`} className="jp-DataAsk-formTitle">
        New connection
      </h4>
      <label className="jp-DataAsk-field" htmlFor={`${id}-url`}>
        <span>URL</span>
        <input
          id={`${id}-url`}
          ref={urlRef}
          className="jp-mod-styled jp-DataAsk-input"
          name="url"
          type="text"
          autoComplete="off"
          spellCheck={false}
          placeholder="postgresql://user@host:5432/db"
          value={url}
          aria-invalid={showInvalid && urlError !== null}
          aria-describedby={`${id}-url-hint ${id}-url-err`}
          onChange={e => onUrl(e.target.value)}
        />
      </label>
      <div id={`${id}-url-hint`} className="jp-DataAsk-hint">
        sqlite:///file.db, duckdb:///file.duckdb, postgresql://, mysql://
      </div>
      {fieldError(urlError, `${id}-url-err`)}
      <label className="jp-DataAsk-field" htmlFor={`${id}-name`}>
        <span>Name</span>
        <input
          id={`${id}-name`}
          className="jp-mod-styled jp-DataAsk-input"
          name="name"
          type="text"
          autoComplete="off"
          spellCheck={false}
          placeholder="shop_sales"
          value={name}
          maxLength={63}
          aria-invalid={showInvalid && nameError !== null}
          aria-describedby={`${id}-name-err`}
          onChange={e => {
            setName(e.target.value);
            setNameTouched(true);
            setOutcome(null);
          }}
        />
      </label>
      {fieldError(nameError, `${id}-name-err`)}
      <label className="jp-DataAsk-field" htmlFor={`${id}-password`}>
        <span>Password</span>
        <input
          id={`${id}-password`}
          className="jp-mod-styled jp-DataAsk-input"
          name="dataask-connection-password"
          type="password"
          autoComplete="off"
          placeholder="optional; stored encrypted"
          value={password}
          onChange={e => {
            setPassword(e.target.value);
            setOutcome(null);
          }}
        />
      </label>
      <div
        className="jp-DataAsk-formResult"
        role={outcome?.kind === 'error' ? 'alert' : 'status'}
        aria-live="polite"
        data-kind={outcome?.kind ?? 'none'}
      >
        {busy === 'test'
          ? 'Testing…'
          : busy === 'save'
            ? 'Testing and saving…'
            : outcome?.text ?? ''}
      </div>
      <div className="jp-DataAsk-formButtons">
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject jp-DataAsk-button"
          onClick={cancel}
        >
          Cancel
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-DataAsk-button"
          disabled={busy !== null}
          onClick={test}
        >
          Test
        </button>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-DataAsk-button"
          disabled={busy !== null}
        >
          Save
        </button>
      </div>
    </form>
  );
}
