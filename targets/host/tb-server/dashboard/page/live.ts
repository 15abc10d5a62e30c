/**
 * The live stream (server-sent events). EventSource reconnects by itself after a dropped
 * connection; after a refusal (an HTTP error, e.g. 503 with too many dashboards open) it gives
 * up, so then a new one is opened after RETRY_MS. The server starts every connection with a
 * snapshot, so nothing has to be replayed here.
 */
import type { LiveMessage } from '../protocol';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

const RETRY_MS = 3000;

/** Opens the stream for one watched device (or none); returns its close(). */
export function openLive(deviceId: string | undefined, onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void {
  const url = '/dashboard/events' + (deviceId ? '?device=' + encodeURIComponent(deviceId) : '');
  let source: EventSource | undefined;
  let retry: number | undefined;
  const open = (): void => {
    retry = undefined;
    const s = (source = new EventSource(url));
    s.onopen = () => onState('live');
    s.onerror = () => {
      onState('reconnecting');
      if (s.readyState === EventSource.CLOSED) retry = window.setTimeout(open, RETRY_MS);
    };
    s.onmessage = (ev: MessageEvent<string>) => onMessage(JSON.parse(ev.data) as LiveMessage);
  };
  onState('connecting');
  open();
  return () => {
    if (retry !== undefined) clearTimeout(retry);
    source?.close();
  };
}
