/**
 * Client and shared attributes of the watched device, and a form to set or delete a shared one
 * (ThingsBoard's REST; the server pushes the change to the device, which applies its settings).
 */
import type { AttributeEntry, AttributeScope, JsonValue } from '../protocol';
import { attributes, deleteShared, setShared } from './api';
import { clock, errorText, h, panel, show } from './dom';

export class AttributesPanel {
  private readonly p = panel('Attributes', 'attributes');
  readonly root = this.p.root;
  private readonly client = h('tbody');
  private readonly shared = h('tbody');
  private readonly key = h('input', { attrs: { id: 'shared-key', placeholder: 'key', spellcheck: 'false', required: '' } });
  private readonly value = h('input', { attrs: { id: 'shared-value', placeholder: 'value (JSON or text)', spellcheck: 'false' } });
  private readonly status = h('p', { class: 'status', attrs: { id: 'shared-status' } });

  constructor(private readonly deviceId: string) {
    const form = h(
      'form',
      { class: 'row', attrs: { id: 'shared-form' }, on: { submit: (ev) => { ev.preventDefault(); void this.set(); } } },
      this.key,
      this.value,
      h('button', { text: 'Set shared', attrs: { type: 'submit' } }),
    );
    this.p.body.append(
      h('h3', { text: 'Shared (server to device)' }),
      table(this.shared, true),
      form,
      this.status,
      h('h3', { text: 'Client (device to server)' }),
      table(this.client, false),
    );
  }

  /** Both scopes from REST (the live stream sends later changes). */
  async load(): Promise<AttributeEntry[]> {
    const [client, shared] = await Promise.all([attributes(this.deviceId, 'CLIENT_SCOPE'), attributes(this.deviceId, 'SHARED_SCOPE')]);
    this.show('SHARED_SCOPE', shared);
    this.show('CLIENT_SCOPE', client);
    return client;
  }

  show(scope: AttributeScope, entries: AttributeEntry[]): void {
    const shared = scope === 'SHARED_SCOPE';
    const body = shared ? this.shared : this.client;
    body.replaceChildren();
    for (const e of [...entries].sort((a, b) => a.key.localeCompare(b.key))) {
      const del = shared ? h('td', {}, h('button', { class: 'icon', text: '✕', title: 'delete ' + e.key, data: { delete: e.key }, on: { click: () => void this.remove(e.key) } })) : null;
      const value = h('td', { class: 'value', text: show(e.value), title: show(e.value) });
      const edit = shared ? { click: () => this.edit(e) } : undefined;
      body.append(h('tr', { data: { key: e.key }, ...(edit ? { on: edit } : {}) }, h('td', { class: 'key', text: e.key }), value, h('td', { class: 'ts', text: clock(e.lastUpdateTs) }), del));
    }
    if (entries.length === 0) body.append(h('tr', {}, h('td', { class: 'muted', text: 'none', attrs: { colspan: '4' } })));
  }

  private edit(e: AttributeEntry): void {
    this.key.value = e.key;
    this.value.value = JSON.stringify(e.value);
  }

  private async set(): Promise<void> {
    const key = this.key.value.trim();
    if (!key) return;
    const value = parseValue(this.value.value);
    try {
      await setShared(this.deviceId, { [key]: value });
      this.say('set ' + key + ' = ' + JSON.stringify(value));
      this.show('SHARED_SCOPE', await attributes(this.deviceId, 'SHARED_SCOPE'));
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  private async remove(key: string): Promise<void> {
    try {
      await deleteShared(this.deviceId, [key]);
      this.say('deleted ' + key);
      this.show('SHARED_SCOPE', await attributes(this.deviceId, 'SHARED_SCOPE'));
    } catch (e) {
      this.say(errorText(e), true);
    }
  }

  private say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }
}

function table(body: HTMLTableSectionElement, shared: boolean): HTMLTableElement {
  const head = h('tr', {}, h('th', { text: 'key' }), h('th', { text: 'value' }), h('th', { text: 'updated' }), shared ? h('th', {}) : null);
  return h('table', { class: 'attrs' + (shared ? ' shared' : '') }, h('thead', {}, head), body);
}

/** `1000`, `true`, `{"a":1}` as JSON; anything that is not JSON as the text itself. */
function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}
