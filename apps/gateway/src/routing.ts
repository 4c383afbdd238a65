/**
 * Which side of an endpoint's split a row goes to. Sticky: the same entity lands in the same one of
 * 100 buckets of an endpoint forever, so raising the candidate's weight from 5 to 25 % only moves
 * entities from the champion to the candidate, never back and forth, and each entity sees one
 * version's behaviour at a time.
 */

/** FNV-1a, 32 bit: fast, dependency-free and well spread over short ids; not a security boundary. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The entity's bucket (0–99) on this endpoint; the candidate serves buckets below its weight. */
export function trafficBucket(endpointId: string, entityId: string): number {
  // The endpoint takes part so that two endpoints at 5 % do not send the same entities to their candidates.
  return fnv1a(`${endpointId}\u0000${entityId}`) % 100;
}

export type ServingSide = 'champion' | 'candidate';

/** Rows without an entity id are split at random: nothing to keep them sticky to. */
export function chooseSide(
  endpointId: string,
  entityId: string | undefined,
  candidateWeight: number,
  random: () => number = Math.random,
): ServingSide {
  if (candidateWeight <= 0) return 'champion';
  if (candidateWeight >= 100) return 'candidate';
  const bucket = entityId === undefined ? Math.floor(random() * 100) : trafficBucket(endpointId, entityId);
  return bucket < candidateWeight ? 'candidate' : 'champion';
}
