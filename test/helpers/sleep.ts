/** A plain delay. Tests wait for events with a timeout (client.ts `waitFor`, `eventually`); a sleep is for a window in which nothing must happen. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
