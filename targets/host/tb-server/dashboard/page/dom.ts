/** The few DOM helpers the panels share: element creation, and how times are shown. */

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  /** data-* attributes (the browser test reads some). */
  data?: Record<string, string>;
  attrs?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

/** `h('button', { class: 'x', on: { click } }, 'label')`: an element with its children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title) el.title = props.title;
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const [type, fn] of Object.entries(props.on ?? {})) el.addEventListener(type, fn as EventListener);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A titled panel; `body` is where its content goes. */
export function panel(title: string, id: string): { root: HTMLElement; body: HTMLElement } {
  const body = h('div', { class: 'panel-body' });
  const root = h('section', { class: 'panel', attrs: { id } }, h('h2', { text: title }), body);
  return { root, body };
}

export function clock(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour12: false });
}

/** "4 s ago", "3 min ago", or the date for anything older than a day. */
export function ago(ts: number | null, now = Date.now()): string {
  if (ts === null) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86_400) return Math.floor(s / 3600) + ' h ago';
  return new Date(ts).toLocaleString();
}

/** A value as one line: strings as they are, anything else as JSON. */
export function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The message of anything thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
