/**
 * A small typed event emitter: `on`/`off`/`emit` checked against an event map (`name →
 * listener signature`). A listener that throws does not stop the others nor the caller's
 * bookkeeping; its error is rethrown on a fresh task, so it still surfaces.
 */
// The constraint needs `any`: listener parameters are contravariant, so `unknown[]` would reject every specific listener.
export type EventMap = { [event: string]: (...args: any[]) => void };

export class TypedEmitter<Events extends EventMap> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof Events>(event: E, fn: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  off<E extends keyof Events>(event: E, fn: Events[E]): void {
    this.listeners.get(event)?.delete(fn);
  }

  /** Calls each listener of `event` (those added at the time of the call), in the order they were added. */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
