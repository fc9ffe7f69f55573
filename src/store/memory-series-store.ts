/**
 * Series in this process's memory: single-instance mode. Synchronous changes, so atomic.
 * Each committed change is told to an observer (the embedded store's journal), so series
 * survive a restart on the same DATA_DIR.
 */
import type { Series } from '../domain/series.js';
import type { SeriesStore } from './series-store.js';

export class MemorySeriesStore implements SeriesStore {
  private readonly series = new Map<string, Series>();
  private observer: ((id: string, series: Series | null) => void) | null = null;

  observeChanges(observer: ((id: string, series: Series | null) => void) | null): void {
    this.observer = observer;
  }

  restore(kept: Series[]): void {
    // One this run created meanwhile wins (it cannot collide: ids are random).
    for (const s of kept) if (!this.series.has(s.id)) this.series.set(s.id, structuredClone(s));
  }

  async create(series: Series): Promise<void> {
    this.series.set(series.id, structuredClone(series));
    this.observer?.(series.id, structuredClone(series));
  }

  async get(id: string): Promise<Series | null> {
    const s = this.series.get(id);
    return s ? structuredClone(s) : null;
  }

  async update(id: string, change: (s: Series) => Series): Promise<Series | null> {
    const s = this.series.get(id);
    if (!s) return null;
    const next = change(structuredClone(s));
    if (JSON.stringify(next) === JSON.stringify(s)) return next;
    this.series.set(id, structuredClone(next));
    this.observer?.(id, structuredClone(next));
    return next;
  }

  async ids(): Promise<string[]> {
    return [...this.series.keys()];
  }

  async remove(id: string): Promise<void> {
    if (this.series.delete(id)) this.observer?.(id, null);
  }

  async seriesOf(identity: string): Promise<Series[]> {
    const all = await Promise.all((await this.ids()).map((id) => this.get(id)));
    return all.filter((s): s is Series => s !== null && s.members.some((m) => m.identity === identity));
  }
}
