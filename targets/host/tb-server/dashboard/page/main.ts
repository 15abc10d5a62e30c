/**
 * The dashboard page: the device list on the left, the chosen device (URL hash `#device=<id>`)
 * on the right, both kept current by the live stream. Served at the root of the local server's
 * HTTP port (tb-server/dashboard/routes.ts).
 */
import type { LiveMessage } from '../protocol';
import { DeviceList } from './device-list';
import { DeviceView } from './device-view';
import { h } from './dom';
import { openLive, type LiveState } from './live';

const listRoot = document.getElementById('devices')!;
const main = document.getElementById('main')!;
const badge = document.getElementById('live')!;
const list = new DeviceList(listRoot);

let view: DeviceView | undefined;
let closeLive: (() => void) | undefined;
/** The device the stream was opened for (the stream carries its telemetry and attributes). */
let streamFor: string | undefined;

function chosenId(): string | undefined {
  const m = /device=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** Opens the stream for the chosen device; the view is made when its snapshot says it exists. */
function watch(id: string | undefined): void {
  closeLive?.();
  streamFor = id;
  closeLive = openLive(id, onMessage, showState);
}

function onMessage(m: LiveMessage): void {
  if (m.type === 'snapshot') {
    list.reset(m.devices);
    let id = chosenId();
    if (id === undefined) {
      // Remember the fallback, so a reconnect does not switch to another device.
      id = list.fallback()?.id;
      if (id) history.replaceState(null, '', '#device=' + encodeURIComponent(id));
    }
    if (id !== streamFor) return watch(id);
    show(id);
    return;
  }
  if (m.type === 'devices') {
    list.merge(m.devices);
    if (view) {
      const mine = m.devices.find((d) => d.id === streamFor);
      if (mine) view.onSummary(mine);
    } else if (streamFor === undefined) {
      // A first device appeared: watch it.
      const first = list.fallback();
      if (first) {
        history.replaceState(null, '', '#device=' + encodeURIComponent(first.id));
        watch(first.id);
      }
    }
    return;
  }
  if (view && m.deviceId === streamFor) view.onMessage(m);
}

/** Shows the device (a new view, or the same one reloaded after a reconnect). */
function show(id: string | undefined): void {
  list.select(id);
  const summary = id ? list.get(id) : undefined;
  if (!summary) {
    view?.destroy();
    view = undefined;
    main.replaceChildren(h('p', { class: 'muted', text: id ? 'No device with id ' + id + '.' : 'No devices yet: connect one to the MQTT port.' }));
    return;
  }
  if (!view || view.id !== summary.id) {
    view?.destroy();
    view = new DeviceView(summary);
    main.replaceChildren(view.root);
  }
  void view.load();
}

function showState(s: LiveState): void {
  badge.textContent = s === 'live' ? 'live' : s === 'connecting' ? 'connecting...' : 'reconnecting...';
  badge.className = 'live-badge ' + s;
}

window.addEventListener('hashchange', () => {
  const id = chosenId();
  if (id !== streamFor) watch(id);
});
window.setInterval(() => {
  list.render();
  view?.tick();
}, 1000);

document.getElementById('boot')?.remove();
watch(chosenId());
