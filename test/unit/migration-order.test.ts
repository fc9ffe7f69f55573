/** The migrator's name order (persistence/migrations.ts) is the one Kysely's default gave, so a data dir migrated before opens as before. */
import { expect, it } from 'vitest';
import { migrationNameOrder, migrationProvider } from '../../src/persistence/migrations.js';

it('orders the migration names as localeCompare does', async () => {
  const names = Object.keys(await migrationProvider.getMigrations());
  const journal = ['0001_journal', '0002_series_feeds', '0003_push_subscriptions'];
  for (const list of [names, journal]) {
    const shuffled = [...list].reverse();
    expect([...shuffled].sort(migrationNameOrder)).toEqual([...shuffled].sort((a, b) => a.localeCompare(b)));
  }
  expect(names.length).toBeGreaterThan(3);
});
