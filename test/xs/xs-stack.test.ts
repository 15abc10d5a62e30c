/**
 * The firmware's every path on the real XS engine with the device's JavaScript stack: manifest.json's
 * creation.stack, modelled by tbxs's XS host as a Moddable build gives it to the app (see
 * targets/xsnap/native/stack-host.c and test/xs/stack-scenario.ts). A device whose stack
 * overflows is dead, so this is as much a part of the firmware as its tests of behaviour.
 */
import { describe, expect, it } from 'vitest';
import { manifestStackSlots } from '../../targets/xsnap/xs-device';
import { runStackScenario, type StackScenarioResult } from './stack-scenario';

const STACK = manifestStackSlots();
/** The headroom the manifest promises: the deepest path needs at most 75% of creation.stack. */
const HEADROOM_STACK = Math.floor(STACK * 0.75);

function explain(r: StackScenarioResult): string {
  return (r.overflow ? r.overflow + '\n' : '') + r.failures.join('\n');
}

describe('the firmware on XS with the device stack (manifest.json creation.stack = ' + STACK + ' slots)', () => {
  it('every path passes with 75% of the stack (' + HEADROOM_STACK + ' slots): the manifest keeps 25% headroom', async () => {
    const r = await runStackScenario({ stackSlots: HEADROOM_STACK });
    expect(r.failures, explain(r)).toEqual([]);
    expect(r.overflow).toBeUndefined();
    expect(r.passed).toBe(true);
  }, 120_000);

  it('every path passes at the manifest stack with the minified bundle (dist/esp32/tbxs.min.js names)', async () => {
    const r = await runStackScenario({ stackSlots: STACK, minify: true });
    expect(r.failures, explain(r)).toEqual([]);
    expect(r.passed).toBe(true);
  }, 120_000);

  it('negative control: a stack too small is caught, the worker ends with one line naming the size and the frames', async () => {
    const r = await runStackScenario({ stackSlots: 200 });
    expect(r.passed).toBe(false);
    expect(r.overflow).toMatch(/^XS worker \S+ died: JavaScript stack overflow: the XS stack of 200 slots is full; innermost frames \(slots in use at entry\): \S+@\d+/);
    expect(r.overflow).not.toContain('\n');
  }, 120_000);
});
