/**
 * Charts through JupyterLab's own Vega renderer (vega-embed, themed like the rest of
 * JupyterLab): a Vega-Lite spec is rendered as the `application/vnd.vegalite.v5+json`
 * MIME type by the rendermime registry.
 */

import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/** Render `spec` into `host`; returns a function that removes it. */
export type ChartRenderer = (spec: Record<string, any>, host: HTMLElement) => Promise<() => void>;

export function rendermimeCharts(rendermime: IRenderMimeRegistry | null): ChartRenderer {
  return async (spec, host) => {
    if (!rendermime || !rendermime.mimeTypes.includes(VEGALITE_MIME)) {
      host.textContent = 'Charts need JupyterLab’s Vega renderer, which is not enabled.';
      return () => {
        host.textContent = '';
      };
    }
    const renderer = rendermime.createRenderer(VEGALITE_MIME);
    renderer.addClass('jp-DataAsk-vega');
    const model = rendermime.createModel({
      data: { [VEGALITE_MIME]: spec as any },
      metadata: {},
      trusted: true
    });
    // appended by hand, not Widget.attach: React may remove `host` before the cleanup runs
    host.appendChild(renderer.node);
    await renderer.renderModel(model);
    return () => {
      renderer.node.remove();
      try {
        renderer.dispose();
      } catch {
        // already detached with its host
      }
    };
  };
}
