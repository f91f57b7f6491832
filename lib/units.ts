const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a byte size as Docker does: a non-negative integer, or a number with
 * a binary unit (`'512k'`, `'10m'`, `'1.5g'`; an optional trailing `b`/`ib`).
 * @throws TypeError when the value is not a size; RangeError when it is negative or too large.
 */
export function parseBytes(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${what} must be an integer number of bytes, got ${value}`);
    if (value < 0) throw new RangeError(`${what} must not be negative, got ${value}`);
    return value;
  }
  if (typeof value !== 'string') throw new TypeError(`${what} must be a number of bytes or a string like '10m'`);
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (!match) throw new TypeError(`${what} must be a size like '512k', '10m' or '1g', got '${value}'`);
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`${what} is too large: '${value}'`);
  return bytes;
}
