/**
 * What a read costs in events (docs/reliability.md "Costly reads"): the flood budgets count
 * events, and a cheap event (a status change) costs ~1 µs–0.1 ms of main thread, while a
 * page of 1,000 history events (~570 KB of JSON) costs ~25 ms. A read is charged in
 * proportion to what it returns, so a few seats paging history at a legal rate cannot
 * take the loop from everyone; under overload, such a reader is the heaviest sender and
 * is shed first (limits/overload.ts).
 */

/** GET /sessions/:code/events: one event plus one per 10 events asked for (a 1,000-event page: 101). */
export const historyPageCost = (limit: number): number => 1 + Math.ceil(limit / 10);

/** GET /me/history: one plus one per 10 rounds asked for (a 100-round page: 11). */
export const meHistoryCost = (limit: number): number => 1 + Math.ceil(limit / 10);

/** GET /me/stats: bounded work (an aggregate over the last days' buckets, me-stats in SQL). */
export const ME_STATS_COST = 10;

/** GET /me/sessions: one store read per booked room of the identity. */
export const ME_SESSIONS_COST = 5;

/** DELETE /me: a delete over every table that names the identity. */
export const ME_ERASE_COST = 20;
