/** A free server-side RPC: method and JSON params in, the device's reply or the error out. */
import { isObject, rpc } from './api';
import { errorText, h, panel } from './dom';
import type { JsonValue } from '../protocol';

export class RpcPanel {
  private readonly p = panel('RPC', 'rpc');
  readonly root = this.p.root;
  private readonly method = h('input', { attrs: { id: 'rpc-method', value: 'getGpioStatus', placeholder: 'method', spellcheck: 'false' } });
  private readonly params = h('textarea', { attrs: { id: 'rpc-params', rows: '2', placeholder: '{"pin": "led"}', spellcheck: 'false' } });
  private readonly output = h('pre', { class: 'rpc-output', attrs: { id: 'rpc-output' } });

  constructor(private readonly deviceId: string) {
    this.params.value = '{}';
    const send = h('button', { text: 'Send', attrs: { type: 'submit' } });
    const form = h(
      'form',
      { class: 'rpc-form', on: { submit: (ev) => { ev.preventDefault(); void this.send(); } } },
      h('label', {}, 'method', this.method),
      h('label', {}, 'params (JSON)', this.params),
      send,
    );
    this.p.body.append(form, this.output);
  }

  private async send(): Promise<void> {
    let params: JsonValue;
    try {
      params = this.params.value.trim() === '' ? {} : (JSON.parse(this.params.value) as JsonValue);
    } catch (e) {
      return this.show('params are not JSON: ' + errorText(e), true);
    }
    const method = this.method.value.trim();
    if (!method) return this.show('a method is needed', true);
    this.show(method + '...', false);
    const started = performance.now();
    try {
      const reply = await rpc(this.deviceId, method, params);
      const ms = Math.round(performance.now() - started);
      // A device's own error comes as a 200 with {"error": "..."} (tbxs firmware, ThingsBoard SDKs).
      const failed = isObject(reply) && typeof reply.error === 'string';
      this.show((typeof reply === 'string' ? reply : JSON.stringify(reply, null, 2)) + '\n(' + ms + ' ms)', failed);
    } catch (e) {
      this.show(errorText(e), true);
    }
  }

  private show(text: string, error: boolean): void {
    this.output.textContent = text;
    this.output.classList.toggle('error', error);
  }
}
