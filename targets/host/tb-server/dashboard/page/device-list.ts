/**
 * The sidebar: every device with its online state and last activity; a gateway's children under
 * it. A click selects (through the URL hash, so a reload keeps the choice).
 */
import type { DeviceSummary } from '../protocol';
import { ago, h } from './dom';

export class DeviceList {
  private readonly devices = new Map<string, DeviceSummary>();
  private selected: string | undefined;

  constructor(private readonly root: HTMLElement) {}

  /** Replaces the whole list (a snapshot). */
  reset(devices: DeviceSummary[]): void {
    this.devices.clear();
    this.merge(devices);
  }

  merge(devices: DeviceSummary[]): void {
    for (const d of devices) this.devices.set(d.id, d);
    this.render();
  }

  get(id: string): DeviceSummary | undefined {
    return this.devices.get(id);
  }

  /** The device to show when none is chosen: the first online device of its own (not a gateway or a child), else any online one, else the first. */
  fallback(): DeviceSummary | undefined {
    const all = this.sorted();
    return all.find((d) => d.active && !d.gateway && !d.parentGateway) ?? all.find((d) => d.active) ?? all[0];
  }

  select(id: string | undefined): void {
    this.selected = id;
    this.render();
  }

  /** Redraws (also every second, for the "ago" texts). */
  render(): void {
    const now = Date.now();
    const byGateway = new Map<string, DeviceSummary[]>();
    const top: DeviceSummary[] = [];
    const names = new Set([...this.devices.values()].map((d) => d.name));
    for (const d of this.sorted()) {
      if (d.parentGateway && names.has(d.parentGateway)) {
        const list = byGateway.get(d.parentGateway) ?? [];
        list.push(d);
        byGateway.set(d.parentGateway, list);
      } else top.push(d);
    }
    const items: HTMLElement[] = [];
    for (const d of top) {
      const children = byGateway.get(d.name) ?? [];
      items.push(this.item(d, now, children.length > 0 ? h('ul', { class: 'children' }, ...children.map((c) => this.item(c, now))) : null));
    }
    if (items.length === 0) items.push(h('li', { class: 'muted', text: 'No devices yet.' }));
    this.root.replaceChildren(...items);
  }

  private item(d: DeviceSummary, now: number, children: HTMLElement | null = null): HTMLElement {
    const link = h(
      'a',
      { class: 'device' + (d.id === this.selected ? ' selected' : ''), attrs: { href: '#device=' + d.id }, data: { device: d.name, active: String(d.active) } },
      h('span', { class: 'dot ' + (d.active ? 'online' : 'offline'), title: d.active ? 'online' : 'offline' }),
      h('span', { class: 'device-name', text: d.name }),
      d.gateway ? h('span', { class: 'badge', text: 'gateway' }) : null,
      h('span', { class: 'device-meta', text: (d.active ? 'online' : 'offline') + ' · ' + ago(d.lastActivityTime, now) }),
    );
    return h('li', {}, link, children);
  }

  private sorted(): DeviceSummary[] {
    return [...this.devices.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
