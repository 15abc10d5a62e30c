/** What flows for the watched device, as `npm start` prints it: the newest MAX_LINES lines. */
import { clock, h, panel } from './dom';

const MAX_LINES = 200;

export class LogPanel {
  private readonly p = panel('Messages', 'log');
  readonly root = this.p.root;
  private readonly list = h('ol', { class: 'log' });

  constructor() {
    this.p.body.append(this.list);
  }

  add(lines: { ts: number; text: string }[]): void {
    const stick = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    for (const l of lines) this.list.append(h('li', {}, h('span', { class: 'ts', text: clock(l.ts) }), ' ' + l.text));
    while (this.list.childElementCount > MAX_LINES) this.list.firstElementChild!.remove();
    // Follow the newest line unless the reader scrolled up.
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }
}
