/** Series in this process's memory: single-instance mode. Synchronous changes, so atomic. */
import type { Series } from '../domain/series.js';
import type { SeriesStore } from './series-store.js';

export class MemorySeriesStore implements SeriesStore {
  private readonly series = new Map<string, Series>();

  async create(series: Series): Promise<void> {
    this.series.set(series.id, structuredClone(series));
  }

  async get(id: string): Promise<Series | null> {
    const s = this.series.get(id);
    return s ? structuredClone(s) : null;
  }

  async update(id: string, change: (s: Series) => Series): Promise<Series | null> {
    const s = this.series.get(id);
    if (!s) return null;
    const next = change(structuredClone(s));
    this.series.set(id, structuredClone(next));
    return next;
  }

  async ids(): Promise<string[]> {
    return [...this.series.keys()];
  }

  async remove(id: string): Promise<void> {
    this.series.delete(id);
  }

  async seriesOf(identity: string): Promise<Series[]> {
    const all = await Promise.all((await this.ids()).map((id) => this.get(id)));
    return all.filter((s): s is Series => s !== null && s.members.some((m) => m.identity === identity));
  }
}
