/**
 * The page's files: index.html and style.css as they are (plus uPlot's CSS), and page/main.ts
 * bundled with uPlot by rollup, through the same plugins as the firmware bundles (esbuild strips
 * the types; terser minifies). Built in memory on first use, once per process; `npm start`
 * starts it early so the first page load does not wait. A failed build (rollup or uplot
 * missing, a syntax error) is remembered only until the next request, so `npm install` and a
 * reload fix it without a restart.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Plugin, RollupBuild } from 'rollup';

const PAGE = fileURLToPath(new URL('./page/', import.meta.url));
const XS_CONFIG = new URL('../../../xsnap/rollup.config.mjs', import.meta.url).href;

export interface DashboardAssets {
  html: string;
  css: string;
  js: string;
}

/** Why the page cannot be served, with what to do about it. */
export class DashboardBuildError extends Error {}

let building: Promise<DashboardAssets> | undefined;

export function dashboardAssets(): Promise<DashboardAssets> {
  building ??= build().catch((e: unknown) => {
    building = undefined;
    throw e instanceof DashboardBuildError ? e : new DashboardBuildError('the dashboard page could not be built: ' + (e instanceof Error ? e.message : String(e)));
  });
  return building;
}

async function build(): Promise<DashboardAssets> {
  const require = createRequire(import.meta.url);
  let uplotCss: string;
  try {
    uplotCss = require.resolve('uplot/dist/uPlot.min.css');
  } catch {
    throw new DashboardBuildError('uplot is not installed: run npm install (the dashboard bundles it, no CDN)');
  }
  const [html, css, chartCss, js] = await Promise.all([readFile(PAGE + 'index.html', 'utf8'), readFile(PAGE + 'style.css', 'utf8'), readFile(uplotCss, 'utf8'), bundle()]);
  return { html, css: css + '\n' + chartCss, js };
}

async function bundle(): Promise<string> {
  let tools: { rollup: typeof import('rollup').rollup; plugins: Plugin[] };
  try {
    tools = await loadTools();
  } catch (e) {
    throw new DashboardBuildError('the dashboard is built with rollup and its plugins (devDependencies): run npm install (' + (e instanceof Error ? e.message : String(e)) + ')');
  }
  let result: RollupBuild | undefined;
  try {
    result = await tools.rollup({ input: PAGE + 'main.ts', plugins: tools.plugins });
    const { output } = await result.generate({ format: 'es' });
    return output[0].code;
  } finally {
    await result?.close();
  }
}

async function loadTools(): Promise<{ rollup: typeof import('rollup').rollup; plugins: Plugin[] }> {
  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const terser = (await import('@rollup/plugin-terser')).default;
  const { typescript } = (await import(XS_CONFIG)) as { typescript: () => Plugin };
  return {
    rollup,
    plugins: [
      typescript(),
      nodeResolve({ extensions: ['.mjs', '.js', '.ts'], browser: true }),
      // uPlot's MIT notice (a /*! comment) stays.
      terser({ ecma: 2020, module: true, format: { comments: 'some' } }),
    ],
  };
}
