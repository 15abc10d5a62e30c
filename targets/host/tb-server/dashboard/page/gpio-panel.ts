/**
 * GPIO buttons: the pins come from the `getGpioStatus` RPC ({"<GPIO number>": bool}), named and
 * told apart (output or input) by the firmware's `pins` client attribute; a click on an output
 * calls `toggle_gpio` with the pin's name. The firmware also reports each pin's state as a client
 * attribute by name, so a change made elsewhere (curl, the button) shows up here too.
 */
import type { AttributeEntry } from '../protocol';
import { isObject, rpc } from './api';
import { errorText, h, panel } from './dom';

interface PinInfo {
  name: string;
  output: boolean;
}

export class GpioPanel {
  private readonly p = panel('GPIO', 'gpio');
  readonly root = this.p.root;
  private readonly buttons = h('div', { class: 'gpio-buttons' });
  private readonly status = h('p', { class: 'status' });
  /** GPIO number -> logical state, from getGpioStatus. */
  private states = new Map<number, boolean>();
  /** GPIO number -> name and direction, from the `pins` attribute. */
  private pins = new Map<number, PinInfo>();

  constructor(private readonly deviceId: string) {
    const refresh = h('button', { class: 'secondary', text: 'Refresh', on: { click: () => void this.load() } });
    this.p.body.append(this.buttons, h('div', { class: 'row' }, refresh, this.status));
  }

  /** Asks the device for its pins (getGpioStatus). */
  async load(): Promise<void> {
    this.say('asking the device (getGpioStatus)...');
    try {
      const reply = await rpc(this.deviceId, 'getGpioStatus', {});
      if (!isObject(reply)) throw new Error('unexpected reply ' + JSON.stringify(reply));
      this.states = new Map(Object.entries(reply).filter(([, v]) => typeof v === 'boolean').map(([k, v]) => [Number(k), v as boolean]));
      this.say('');
    } catch (e) {
      this.say(errorText(e), true);
    }
    this.render();
  }

  /** Client attributes: the `pins` description, and pin states by name. */
  onClientAttributes(entries: AttributeEntry[]): void {
    const pins = entries.find((e) => e.key === 'pins')?.value;
    if (isObject(pins)) {
      this.pins = new Map();
      for (const [name, d] of Object.entries(pins)) {
        if (isObject(d) && typeof d.pin === 'number') this.pins.set(d.pin, { name, output: d.mode === 'output' });
      }
    }
    let changed = false;
    for (const [n, info] of this.pins) {
      const v = entries.find((e) => e.key === info.name)?.value;
      if (typeof v !== 'boolean' || !this.states.has(n) || this.states.get(n) === v) continue;
      this.states.set(n, v);
      changed = true;
    }
    // A change made elsewhere (or a restart) makes the last "led is on" stale.
    if (changed) this.say('');
    this.render();
  }

  private render(): void {
    this.buttons.replaceChildren();
    if (this.states.size === 0) this.buttons.append(h('p', { class: 'muted', text: 'No pins known yet.' }));
    for (const [n, on] of [...this.states].sort((a, b) => a[0] - b[0])) {
      const info = this.pins.get(n);
      const name = info?.name ?? 'GPIO ' + n;
      // Without the `pins` attribute every pin gets a button; the device refuses inputs itself.
      const output = info?.output ?? true;
      const label = [h('span', { class: 'gpio-name', text: name }), h('span', { class: 'gpio-meta', text: 'GPIO ' + n + ' · ' + (on ? 'on' : 'off') })];
      const data = { pin: name, state: on ? 'on' : 'off' };
      if (output) {
        this.buttons.append(h('button', { class: 'gpio' + (on ? ' on' : ''), data, attrs: { 'aria-pressed': String(on) }, on: { click: () => void this.toggle(info?.name ?? String(n), n) } }, ...label));
      } else {
        this.buttons.append(h('div', { class: 'gpio input' + (on ? ' on' : ''), data, title: 'input' }, ...label));
      }
    }
  }

  private async toggle(pin: string, n: number): Promise<void> {
    this.say('toggle_gpio ' + pin + '...');
    try {
      const reply = await rpc(this.deviceId, 'toggle_gpio', { pin });
      const v = isObject(reply) ? Object.values(reply)[0] : undefined;
      if (typeof v !== 'boolean') throw new Error('unexpected reply ' + JSON.stringify(reply));
      this.states.set(n, v);
      this.say(pin + ' is ' + (v ? 'on' : 'off'));
    } catch (e) {
      this.say(errorText(e), true);
    }
    this.render();
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }
}
