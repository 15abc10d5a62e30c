/**
 * One uPlot time-series chart per numeric telemetry key of the watched device. Redraws are
 * batched to one per animation frame, however many points arrive. Each chart's figure carries
 * data-key and data-points (the browser test waits on them).
 */
import uPlot from 'uplot';
import { h, show } from './dom';
import type { TelemetryStore } from './telemetry-store';

const HEIGHT = 150;

/** The y axis as wide as its longest label ("1013.15" needs more room than uPlot's fixed 50 px). */
function axisSize(_u: uPlot, values: string[] | null): number {
  return 20 + 7 * Math.max(3, ...(values ?? []).map((v) => v.length));
}
const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d'];

interface Chart {
  figure: HTMLElement;
  value: HTMLElement;
  plot: uPlot;
}

export class ChartGrid {
  readonly root = h('div', { class: 'charts' });
  private readonly charts = new Map<string, Chart>();
  private readonly pending = new Set<string>();
  private frame = 0;
  private readonly empty = h('p', { class: 'muted', text: 'No numeric telemetry yet.' });
  // Charts follow the grid's width (window resizes, the sidebar, the first layout).
  private readonly observer = new ResizeObserver(() => this.resize());

  constructor(private readonly store: TelemetryStore) {
    this.root.append(this.empty);
    this.observer.observe(this.root);
  }

  /** Schedules a redraw of these keys (non-numeric ones and time stamps are skipped). */
  update(keys: string[]): void {
    for (const k of keys) this.pending.add(k);
    if (this.frame === 0) this.frame = requestAnimationFrame(() => this.draw());
  }

  destroy(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    for (const c of this.charts.values()) c.plot.destroy();
    this.charts.clear();
  }

  private draw(): void {
    this.frame = 0;
    for (const key of [...this.pending].sort()) {
      // A time stamp (target_fw_ts, ThingsBoard's *_ts keys) is a number but no reading.
      if (!this.store.isNumeric(key) || key.endsWith('_ts')) continue;
      const chart = this.charts.get(key) ?? this.create(key);
      // Only the numeric points: a key may have carried an error string once.
      const xs: number[] = [];
      const ys: number[] = [];
      for (const [ts, v] of this.store.series(key)) {
        if (typeof v !== 'number') continue;
        xs.push(ts);
        ys.push(v);
      }
      chart.plot.setData([xs, ys]);
      chart.value.textContent = show(this.store.latest(key)?.[1]);
      chart.figure.dataset.points = String(xs.length);
    }
    this.pending.clear();
  }

  private create(key: string): Chart {
    this.empty.remove();
    const value = h('span', { class: 'chart-value' });
    const figure = h('figure', { class: 'chart', data: { key, points: '0' } }, h('figcaption', {}, h('span', { class: 'chart-key', text: key }), value));
    // Keep the grid in key order.
    const after = [...this.charts.keys()].sort().find((k) => k > key);
    this.root.insertBefore(figure, after ? this.charts.get(after)!.figure : null);
    const color = COLORS[this.charts.size % COLORS.length];
    const plot = new uPlot(
      {
        width: this.width(figure),
        height: HEIGHT,
        ms: 1,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [{}, { label: key, stroke: color, width: 1.5, fill: color + '14', points: { show: false } }],
        axes: [{ stroke: '#6b7280', grid: { stroke: '#eef0f3' } }, { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: axisSize }],
      },
      [[], []],
      figure,
    );
    const chart = { figure, value, plot };
    this.charts.set(key, chart);
    return chart;
  }

  private width(figure: HTMLElement): number {
    return Math.max(240, figure.clientWidth - 16);
  }

  private resize(): void {
    for (const c of this.charts.values()) {
      const width = this.width(c.figure);
      if (width !== c.plot.width) c.plot.setSize({ width, height: HEIGHT });
    }
  }
}
