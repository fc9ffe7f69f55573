/**
 * Where series definitions live, shared by every instance: memory in
 * single-instance mode, Redis in cluster mode. `update` is a compare-and-set on the whole
 * series, so two instances never lose each other's change (a member joining while the
 * horizon claims an occurrence). One contract, two implementations.
 */
import type { Series } from '../domain/series.js';

export interface SeriesStore {
  create(series: Series): Promise<void>;
  get(id: string): Promise<Series | null>;
  /**
   * Applies `change` to the stored series and writes it only if nobody changed it in the
   * meantime (else runs `change` again on the new value). `change` may throw (nothing
   * written) or return the series unchanged. Null when there is no such series.
   */
  update(id: string, change: (s: Series) => Series): Promise<Series | null>;
  /** Ids of every stored series (the horizon sweep walks them). */
  ids(): Promise<string[]>;
  remove(id: string): Promise<void>;
  /** Every series `identity` is a member of (a walk over all series: fine for a calendar feed's scale). */
  seriesOf(identity: string): Promise<Series[]>;
  /**
   * Single instance only (memory): told of every committed change (null = removed) in the
   * same synchronous step, so the embedded store can keep the series across a restart.
   */
  observeChanges?(observer: ((id: string, series: Series | null) => void) | null): void;
  /** Single instance only: puts back the series the last run kept (before the server listens). */
  restore?(kept: Series[]): void;
}
