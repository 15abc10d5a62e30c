/**
 * Builds the probe bundle (probe-entry.js with the XS shims) and measures it on an XsWorker.
 * Used by test/xs/xsnap-worker.test.ts and bench.ts.
 */
import type { RollupOptions, OutputOptions } from 'rollup';
import type { XsWorker } from './worker';

const configUrl = new URL('./rollup.config.mjs', import.meta.url).href;

/** Bundles `input` (default: the probe) for xsnap and returns the IIFE script source. */
export async function buildXsBundle(input?: string): Promise<string> {
  const { rollup } = await import('rollup');
  const config = ((await import(configUrl)) as { default: RollupOptions }).default;
  const bundle = await rollup({ ...config, input: input ?? config.input, onwarn: () => undefined });
  try {
    const { output } = await bundle.generate(config.output as OutputOptions);
    return output[0].code;
  } finally {
    await bundle.close();
  }
}

export interface Cost {
  name: string;
  /** Computrons per call, the probe's empty loop subtracted. */
  computrons: number;
  /** Slots allocated per call (currentHeapCount growth, GC'ed before each run, empty loop subtracted). */
  slots: number;
}

/** Runs tbxsProbe.bench[name](n) and tbxsProbe.bench.noop(n) and returns the cost of one call. */
export async function measure(worker: XsWorker, name: string, n = 1000): Promise<Cost> {
  const run = async (fn: string) => {
    await worker.evaluate('gc()');
    const before = (await worker.evaluate('0')).heapCount;
    const result = await worker.evaluate(`tbxsProbe.bench.${fn}(${n})`);
    return { computrons: result.computrons, slots: result.heapCount - before };
  };
  const work = await run(name);
  const base = await run('noop');
  return { name, computrons: (work.computrons - base.computrons) / n, slots: (work.slots - base.slots) / n };
}
