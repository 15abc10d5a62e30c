/** Reads a server-sent event stream with fetch: each `data:` payload parsed as JSON, in order. */
export class SseReader<T = unknown> {
  readonly status: number;
  private readonly queue: T[] = [];
  private wake: (() => void) | undefined;
  private done = false;

  private constructor(
    private readonly res: Response,
    private readonly abort: AbortController,
  ) {
    this.status = res.status;
    if (res.ok && res.body) void this.pump(res.body.getReader());
    else this.done = true;
  }

  static async open<T>(url: string): Promise<SseReader<T>> {
    const abort = new AbortController();
    const res = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    return new SseReader<T>(res, abort);
  }

  get contentType(): string | null {
    return this.res.headers.get('content-type');
  }

  /** The first message not taken yet that matches (others stay for later calls); fails after `ms`. */
  async next(match: (m: T) => boolean = () => true, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.queue.findIndex(match);
      if (i >= 0) return this.queue.splice(i, 1)[0]!;
      if (this.done) throw new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching message within ' + ms + ' ms');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) this.queue.push(JSON.parse(data) as T);
        }
        this.wake?.();
      }
    } catch {
      // aborted
    }
    this.done = true;
    this.wake?.();
  }
}
