/**
 * Everything about the watched device: its header, the charts, GPIO, RPC, attributes, OTA,
 * latest values and messages. Loads history and attributes from REST, then follows the live
 * stream's messages for it.
 */
import type { DeviceSummary, LiveMessage } from '../protocol';
import { history } from './api';
import { AttributesPanel } from './attributes-panel';
import { ChartGrid } from './charts';
import { ago, errorText, h, panel } from './dom';
import { GpioPanel } from './gpio-panel';
import { LatestTable } from './latest-table';
import { LogPanel } from './log-panel';
import { OtaPanel } from './ota-panel';
import { RpcPanel } from './rpc-panel';
import { MAX_POINTS, TelemetryStore } from './telemetry-store';

/** How far back the charts start. */
const HISTORY_MS = 3_600_000;

export class DeviceView {
  readonly root: HTMLElement;
  private readonly store = new TelemetryStore();
  private readonly charts = new ChartGrid(this.store);
  private readonly latest = new LatestTable();
  private readonly gpio: GpioPanel;
  private readonly attributes: AttributesPanel;
  private readonly ota: OtaPanel;
  private readonly log = new LogPanel();
  private readonly header = h('header', { class: 'device-header' });
  private readonly status = h('p', { class: 'status' });
  private wasActive = false;
  readonly id: string;

  constructor(private summary: DeviceSummary) {
    const id = (this.id = summary.id);
    this.gpio = new GpioPanel(id);
    this.attributes = new AttributesPanel(id);
    this.ota = new OtaPanel(id);
    const charts = panel('Telemetry', 'telemetry');
    charts.body.append(this.charts.root);
    this.root = h(
      'div',
      { class: 'device-view', data: { device: summary.name } },
      this.header,
      this.status,
      charts.root,
      h('div', { class: 'columns' }, h('div', { class: 'column' }, this.gpio.root, new RpcPanel(id).root, this.ota.root), h('div', { class: 'column' }, this.attributes.root, this.latest.root, this.log.root)),
    );
    this.renderHeader();
    this.latest.update(this.store);
    this.ota.update(this.store);
  }

  /** Fetches history and attributes (again after a reconnect: points may have been missed). */
  async load(): Promise<void> {
    try {
      const [points, client] = await Promise.all([history(this.summary.id, Date.now() - HISTORY_MS, MAX_POINTS), this.attributes.load()]);
      this.telemetry(this.store.add(points));
      this.gpio.onClientAttributes(client);
      this.status.textContent = '';
    } catch (e) {
      this.status.textContent = errorText(e);
    }
    if (this.summary.active) await this.gpio.load();
    this.wasActive = this.summary.active;
  }

  onSummary(summary: DeviceSummary): void {
    this.summary = summary;
    this.renderHeader();
    // Back online: the pins may have changed while it was away.
    if (summary.active && !this.wasActive) void this.gpio.load();
    this.wasActive = summary.active;
  }

  onMessage(m: LiveMessage): void {
    if (m.type === 'telemetry') this.telemetry(this.store.add(m.points));
    else if (m.type === 'attributes') {
      this.attributes.show(m.scope, m.entries);
      if (m.scope === 'CLIENT_SCOPE') this.gpio.onClientAttributes(m.entries);
    } else if (m.type === 'log') this.log.add(m.lines);
  }

  /** Every second: the "ago" text. */
  tick(): void {
    this.renderHeader();
  }

  destroy(): void {
    this.charts.destroy();
  }

  private telemetry(changed: string[]): void {
    if (changed.length === 0) return;
    this.charts.update(changed);
    this.latest.update(this.store);
    this.ota.update(this.store);
  }

  private renderHeader(): void {
    const s = this.summary;
    this.header.replaceChildren(
      h('h1', {}, h('span', { class: 'dot ' + (s.active ? 'online' : 'offline') }), s.name),
      h(
        'p',
        { class: 'device-meta' },
        (s.gateway ? 'gateway' : 'device') + ' · type ' + s.type + ' · ' + (s.active ? 'online' : 'offline') + ' · last activity ' + ago(s.lastActivityTime),
        s.parentGateway ? ' · through gateway ' + s.parentGateway : '',
        h('br'),
        h('code', { text: s.id }),
      ),
    );
  }
}
