/**
 * Identities: who a seat belongs to across rooms (conflict detection, /me routes). One
 * string per person, namespaced by where it came from, so kinds never collide: `sub:<jwt
 * sub>` today; device keys (not built yet) would add their own prefix here.
 */
export type Identity = string;

export const identityFromSub = (sub: string | null): Identity | null => (sub ? `sub:${sub}` : null);
