/**
 * A user's subordinate ids: the ranges of host uids and gids that
 * `/etc/subuid` and `/etc/subgid` grant it, which the setuid `newuidmap` and
 * `newgidmap` let it map into a user namespace.
 *
 * One line per range, `owner:start:count`, where `owner` is a user name or a
 * decimal uid (shadow's `subid(5)`); a user's ranges are the lines naming it
 * either way, in file order. The files are the administrator's, but berth
 * reads them as input it does not trust to be well formed:
 *
 * - a line that is not `owner:start:count` (a comment, a blank line, a field
 *   that is not a decimal number, a count of 0) is ignored, as shadow does;
 * - a range that runs past the last id (2³²−2), that overlaps another range
 *   of the same user, or that holds the user's own id is refused with a
 *   {@link RootlessUnsupportedError} naming the file and line: mapping it would
 *   give the container ids that are not the user's to give, and newuidmap
 *   would refuse it anyway.
 */
import { readFileSync } from 'node:fs';
import { RootlessUnsupportedError } from '../errors.js';

/** One range of subordinate ids: host ids `start … start + count - 1`. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** Who to look up: the name and the numeric id (either may appear in the file). */
export interface SubordinateOwner {
  name: string | undefined;
  id: number;
}

/** The default files. */
export const SUBUID_FILE = '/etc/subuid';
export const SUBGID_FILE = '/etc/subgid';

/** The largest id plus one (the kernel's ids are 32-bit; 2³²−1 is "no id"). */
const ID_LIMIT = 2 ** 32 - 1;
const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

/**
 * The ranges `text` (the contents of `file`) grants `owner`, in file order.
 * @throws RootlessUnsupportedError for one of the owner's ranges that overflows, overlaps another or holds the owner's own id.
 */
export function parseSubordinateIds(text: string, owner: SubordinateOwner, file: string): SubordinateRange[] {
  const ranges: (SubordinateRange & { line: number })[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const fields = lines[index]!.trim().split(':');
    if (fields.length !== 3) continue;
    const [who, startText, countText] = fields as [string, string, string];
    if (who !== owner.name && who !== String(owner.id)) continue;
    if (!DECIMAL.test(startText) || !DECIMAL.test(countText)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (count === 0) continue;
    const line = index + 1;
    const where = `${file} line ${line} (${who}:${start}:${count})`;
    if (start + count > ID_LIMIT) throw refuse(`${where} runs past the last id (${ID_LIMIT - 1})`, file);
    if (owner.id >= start && owner.id < start + count) {
      throw refuse(`${where} holds the user's own id ${owner.id}, which is already container root`, file);
    }
    const other = ranges.find((r) => start < r.start + r.count && r.start < start + count);
    if (other) throw refuse(`${where} overlaps line ${other.line} (${other.start}:${other.count})`, file);
    ranges.push({ start, count, line });
  }
  return ranges.map(({ start, count }) => ({ start, count }));
}

/**
 * The ranges `file` grants `owner`; none when the file does not exist or
 * cannot be read (a system without subordinate ids).
 */
export function readSubordinateIds(file: string, owner: SubordinateOwner): SubordinateRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return parseSubordinateIds(text, owner, file);
}

function refuse(problem: string, file: string): RootlessUnsupportedError {
  return new RootlessUnsupportedError(
    `subordinate ids: ${problem}; berth refuses to map it. Fix the range (e.g. \`usermod --del-subuids\`/\`--add-subuids\`, or edit ${file}) so that each user's ranges are disjoint, exclude its own id and end before 4294967295.`,
    { code: 'ERR_ROOTLESS_UNSUPPORTED', path: file },
  );
}
