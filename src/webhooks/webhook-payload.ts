/**
 * Outbox entries as webhook bodies (Standard Webhooks: `{ type, timestamp, data }`).
 * Only what the room showed its participants: ids, names, statuses, numbers. Never a
 * token, a user_key, its hash or a JWT subject.
 */
import type { OutboxEntry } from '../domain/outbox-entries.js';

export type WebhookType = 'session.started' | 'session.completed' | 'participant.joined' | 'participant.left' | 'participant.recap' | 'session.attendance';

export interface WebhookBody {
  type: WebhookType;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  data: Record<string, unknown>;
}

export function webhookBody(entry: OutboxEntry): WebhookBody {
  const timestamp = new Date(entry.at).toISOString();
  switch (entry.type) {
    case 'round.completed': {
      const { results, ...round } = entry.data;
      return {
        type: 'session.completed',
        timestamp,
        data: { ...round, results: results.map(({ identity: _identity, ...r }) => r) },
      };
    }
    case 'participant.recap': {
      const { identity: _identity, ...recap } = entry.data;
      return { type: 'participant.recap', timestamp, data: recap };
    }
    case 'attendance.recorded': {
      const { seats, ...run } = entry.data;
      return { type: 'session.attendance', timestamp, data: { ...run, seats: seats.map(({ identity: _identity, ...seat }) => seat) } };
    }
    case 'session.started':
    case 'participant.joined':
    case 'participant.left':
      return { type: entry.type, timestamp, data: { ...entry.data } };
    case 'push.notice':
      // Only the push group reads these (store/outbox.ts GROUP_TYPES).
      throw new Error('a push notice is not a webhook');
  }
}
