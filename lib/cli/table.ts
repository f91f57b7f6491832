/**
 * Columns as Docker's tabwriter lays them out: each column as wide as its
 * widest cell plus three spaces, so a long value widens its column instead of
 * running into the next. Cells are made safe for a terminal first: text from
 * an image or a container (a command, a label) may hold escape sequences.
 */

/** Control characters (ESC, CR, BEL, …) shown as `?`: nothing from a container drives the terminal. */
export function safeText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `"sh -c 'sleep 1…"`: at most `width` characters, with an ellipsis when cut. */
export function truncate(value: string, width: number): string {
  const chars = [...value];
  return chars.length <= width ? value : chars.slice(0, width - 1).join('') + '…';
}

/** Rows of cells (the first row the header) as padded lines. */
export function renderTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const safe = rows.map((row) => row.map(safeText));
  const columns = Math.max(...safe.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...safe.map((row) => [...(row[c] ?? '')].length)));
  return safe
    .map((row) =>
      row
        .map((cell, c) => (c === row.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n') + '\n';
}
