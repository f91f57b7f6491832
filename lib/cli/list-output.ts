/**
 * How Docker's list commands (`ps`, `images`, `history`, `volume ls`,
 * `network ls`, `system df`) print their rows: `--format json` one JSON object
 * a line, another `--format` through the template (`table …` adds a header
 * row), and without one (or `--format table`) the command's own table.
 */
import { renderTable } from './table.js';
import { Template } from './template.js';
import type { CliContext } from './context.js';

/** A list's default table: its columns as [field, title]. */
export type ListColumns<Row> = readonly (readonly [keyof Row & string, string])[];

/**
 * Writes `rows` as `format` says, else as the table of `columns`; `headers`
 * names the template's `table` columns where the field name alone would not
 * (`ID` → `CONTAINER ID`).
 */
export function writeList<Row extends Record<string, unknown>>(
  ctx: CliContext,
  format: string | undefined,
  rows: readonly Row[],
  columns: ListColumns<Row>,
  headers: Record<string, string> = {},
): void {
  if (format === 'json') ctx.stdout.write(rows.map((row) => JSON.stringify(row) + '\n').join(''));
  else if (format && format !== 'table') ctx.stdout.write(new Template(format, ctx.isTTY).renderAll(rows, headers));
  else ctx.stdout.write(renderTable([columns.map(([, title]) => title), ...rows.map((row) => columns.map(([field]) => String(row[field])))]));
}

/** `inspect`'s output: the objects as a JSON array, or each through `format`. */
export function writeInspect(ctx: CliContext, format: string | undefined, objects: readonly unknown[]): void {
  ctx.stdout.write(format ? new Template(format, ctx.isTTY).renderAll(objects) : JSON.stringify(objects, null, 4) + '\n');
}
