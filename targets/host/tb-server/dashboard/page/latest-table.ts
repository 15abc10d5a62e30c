/** The latest value of every telemetry key (strings included, which have no chart). */
import { clock, h, panel, show } from './dom';
import type { TelemetryStore } from './telemetry-store';

export class LatestTable {
  private readonly p = panel('Latest telemetry', 'latest');
  readonly root = this.p.root;
  private readonly body = h('tbody');

  constructor() {
    this.p.body.append(h('table', { class: 'attrs' }, h('thead', {}, h('tr', {}, h('th', { text: 'key' }), h('th', { text: 'value' }), h('th', { text: 'ts' }))), this.body));
  }

  update(store: TelemetryStore): void {
    this.body.replaceChildren();
    for (const key of store.keys()) {
      const p = store.latest(key);
      if (!p) continue;
      this.body.append(h('tr', { data: { key } }, h('td', { class: 'key', text: key }), h('td', { class: 'value', text: show(p[1]) }), h('td', { class: 'ts', text: clock(p[0]) })));
    }
    if (this.body.childElementCount === 0) this.body.append(h('tr', {}, h('td', { class: 'muted', text: 'none yet', attrs: { colspan: '3' } })));
  }
}
