import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'able', 'bold', 'brave', 'bright', 'calm', 'clever', 'eager', 'fair', 'gentle', 'glad', 'happy', 'jolly',
  'keen', 'kind', 'lively', 'lucky', 'merry', 'nimble', 'noble', 'proud', 'quick', 'quiet', 'sharp', 'steady',
  'swift', 'tidy', 'vivid', 'warm', 'wise', 'witty',
];
const HARBOUR_WORDS = [
  'anchor', 'beacon', 'bollard', 'buoy', 'capstan', 'cove', 'dock', 'ferry', 'galley', 'harbor', 'hull',
  'jetty', 'keel', 'lagoon', 'lighthouse', 'mast', 'mooring', 'pier', 'quay', 'reef', 'rudder', 'sail',
  'schooner', 'skiff', 'slipway', 'tide', 'tugboat', 'wharf', 'yacht', 'marina',
];

/** A readable random name such as `swift_lighthouse`; `attempt` > 0 adds a number, as Docker does on collision. */
export function generateName(attempt = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${HARBOUR_WORDS[randomInt(HARBOUR_WORDS.length)]}`;
  return attempt === 0 ? name : `${name}${randomInt(10 * attempt)}`;
}
