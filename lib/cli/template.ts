/**
 * Docker's `--format`: a small subset of Go's text/template over an object.
 * `{{.Field}}`, `{{.A.B}}` (field names match case-insensitively, so
 * `{{.State.Status}}` reads `state.status`), `{{json .}}`, `{{json .X}}`,
 * `{{index .Labels "k"}}`, `{{join .X ","}}`, `{{upper .X}}`, `{{lower .X}}`,
 * `{{len .X}}`, and the `table` prefix (a header row from the field names,
 * columns aligned). `\t` and `\n` in the format are a tab and a newline, as
 * Docker reads them.
 */
import { UsageError } from './command.js';
import { renderTable, safeText } from './table.js';

type Value = unknown;

function field(value: Value, path: string): Value {
  let current = value;
  for (const part of path.split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    const key = Object.keys(current).find((k) => k.toLowerCase() === part.toLowerCase());
    current = key === undefined ? undefined : (current as Record<string, Value>)[key];
  }
  return current;
}

function show(value: Value): string {
  if (value === undefined || value === null) return '<no value>';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(show).join(' ')}]`;
  if (typeof value === 'object') return `map[${Object.entries(value).map(([k, v]) => `${k}:${show(v)}`).join(' ')}]`;
  return String(value);
}

/** One `{{…}}` action's words: `.X`, `"str"`, function names. */
function words(action: string): string[] {
  return [...action.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2]!));
}

function evaluate(action: string, data: Value): Value {
  const [head, ...rest] = words(action);
  const arg = (word: string | undefined): Value => {
    if (word === undefined) throw new UsageError(`template: {{${action}}}: missing an argument`);
    if (word.startsWith('"')) return JSON.parse(word) as string;
    if (/^-?\d+$/.test(word)) return Number(word);
    if (word === '.') return data;
    if (word.startsWith('.')) return field(data, word);
    throw new UsageError(`template: {{${action}}}: cannot read '${word}'`);
  };
  switch (head) {
    case undefined:
      return '';
    case 'json':
      return JSON.stringify(arg(rest[0]));
    case 'index': {
      const target = arg(rest[0]);
      const key = arg(rest[1]);
      return target !== null && typeof target === 'object' ? (target as Record<string, Value>)[String(key)] : undefined;
    }
    case 'join': {
      const list = arg(rest[0]);
      return Array.isArray(list) ? list.map(show).join(String(arg(rest[1]))) : show(list);
    }
    case 'upper':
      return show(arg(rest[0])).toUpperCase();
    case 'lower':
      return show(arg(rest[0])).toLowerCase();
    case 'len': {
      const target = arg(rest[0]);
      return Array.isArray(target) || typeof target === 'string' ? target.length : target && typeof target === 'object' ? Object.keys(target).length : 0;
    }
    default:
      if (head.startsWith('.') || head.startsWith('"')) return arg(head);
      throw new UsageError(`template: function "${head}" not defined`);
  }
}

/** A compiled `--format`: renders one object per call, and the whole list with `table`. */
export class Template {
  private readonly parts: (string | { action: string })[] = [];
  readonly table: boolean;

  /**
   * @param terminal the output is a terminal: control characters in values are
   *   shown as `?` (a value from an image cannot drive the terminal); in a pipe
   *   values come out as they are, for scripts.
   */
  constructor(format: string, private readonly terminal = false) {
    let text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
    this.table = text.startsWith('table');
    if (this.table) text = text.slice('table'.length).trimStart();
    const pattern = /\{\{-?\s*(.*?)\s*-?\}\}/gs;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > last) this.parts.push(text.slice(last, match.index));
      this.parts.push({ action: match[1]! });
      last = match.index + match[0].length;
    }
    if (last < text.length) this.parts.push(text.slice(last));
  }

  /** One object as the format says. */
  render(data: Value): string {
    return this.parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const value = show(evaluate(part.action, data));
        return this.terminal ? safeText(value) : value;
      })
      .join('');
  }

  /** Every object, one line each; with `table`, a header from `headers` (field name → column title) and aligned columns. */
  renderAll(items: readonly Value[], headers: Record<string, string> = {}): string {
    if (!this.table) return items.map((item) => this.render(item) + '\n').join('');
    const header = this.parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const name = /^\.(\w+)$/.exec(part.action)?.[1];
        return name ? (headers[name] ?? name.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()) : part.action.toUpperCase();
      })
      .join('');
    const lines = [header, ...items.map((item) => this.render(item))];
    return renderTable(lines.map((line) => line.split('\t')));
  }
}
