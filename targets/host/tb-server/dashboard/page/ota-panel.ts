/**
 * OTA: upload a firmware file for the watched device (ThingsBoard's package + upload + assign
 * REST) and watch what the device reports: `fw_state` as it goes (INITIATED by the server, then
 * DOWNLOADING ... UPDATED or FAILED with `fw_error`), and the version it runs.
 */
import { sendFirmware } from './api';
import { clock, errorText, h, panel, show } from './dom';
import type { TelemetryStore } from './telemetry-store';

const SHOWN_KEYS = ['current_fw_title', 'current_fw_version', 'target_fw_title', 'target_fw_version', 'fw_state', 'fw_error'];
const STATES_SHOWN = 8;

export class OtaPanel {
  private readonly p = panel('Firmware update (OTA)', 'ota');
  readonly root = this.p.root;
  private readonly title = h('input', { attrs: { id: 'ota-title', placeholder: 'title', required: '' } });
  private readonly version = h('input', { attrs: { id: 'ota-version', placeholder: 'version', required: '' } });
  private readonly file = h('input', { attrs: { id: 'ota-file', type: 'file', required: '' } });
  private readonly status = h('p', { class: 'status', attrs: { id: 'ota-status' } });
  private readonly facts = h('dl', { class: 'facts' });
  private readonly states = h('ol', { class: 'fw-states', attrs: { id: 'fw-states' } });

  constructor(private readonly deviceId: string) {
    const form = h(
      'form',
      { class: 'row', on: { submit: (ev) => { ev.preventDefault(); void this.upload(); } } },
      this.title,
      this.version,
      this.file,
      h('button', { text: 'Upload and assign', attrs: { type: 'submit' } }),
    );
    this.p.body.append(this.facts, this.states, form, this.status);
  }

  /** Refreshes what the device reported, from the telemetry store. */
  update(store: TelemetryStore): void {
    this.facts.replaceChildren();
    for (const key of SHOWN_KEYS) {
      const p = store.latest(key);
      if (!p) continue;
      this.facts.append(h('dt', { text: key }), h('dd', { class: key === 'fw_state' ? 'fw-state ' + show(p[1]).toLowerCase() : '', text: show(p[1]), data: { key } }));
    }
    if (!this.title.value) {
      const current = store.latest('current_fw_title');
      if (current) this.title.value = show(current[1]);
    }
    this.states.replaceChildren();
    for (const [ts, v] of store.series('fw_state').slice(-STATES_SHOWN)) this.states.append(h('li', {}, h('span', { class: 'ts', text: clock(ts) }), ' ' + show(v)));
    if (this.facts.childElementCount === 0) this.facts.append(h('p', { class: 'muted', text: 'The device has reported no firmware state yet.' }));
  }

  private async upload(): Promise<void> {
    const file = this.file.files?.[0];
    const title = this.title.value.trim();
    const version = this.version.value.trim();
    if (!file || !title || !version) return this.say('title, version and a file are needed', true);
    this.say('uploading ' + file.name + ' (' + file.size + ' bytes)...');
    try {
      const id = await sendFirmware(this.deviceId, title, version, file);
      this.say(title + ' ' + version + ' assigned (package ' + id + '); the device reports its progress in fw_state');
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }
}
