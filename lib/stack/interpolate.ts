/**
 * Compose's variable interpolation in string values: `$VAR`, `${VAR}`,
 * `${VAR:-default}` / `${VAR-default}` (unset or empty / unset),
 * `${VAR:?message}` / `${VAR?message}` (an error), `${VAR:+other}` /
 * `${VAR+other}`, and `$$` for a literal `$`. Defaults may hold further
 * `${…}`. An unset variable without a default becomes `''` and is reported
 * through `unset` (Docker Compose warns about it).
 */

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** What interpolation needs: the variables, and where to report. */
export interface InterpolationContext {
  /** The variables: the process environment over `.env`. */
  variables: Readonly<Record<string, string | undefined>>;
  /** Called for each variable used without a value or default. */
  unset(name: string): void;
  /** Throws the caller's typed error for a malformed template or a `:?` variable. */
  fail(message: string): never;
}

/** The index of the `}` closing the `${` whose content starts at `from`, nesting counted. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** One `${…}` body: `NAME`, or `NAME` with an operator and its word. */
function substitute(body: string, context: InterpolationContext): string {
  const name = NAME.exec(body)?.[0];
  if (!name) return context.fail(`invalid interpolation format: "\${${body}}" (a variable name is [_a-zA-Z][_a-zA-Z0-9]*)`);
  const rest = body.slice(name.length);
  const value = context.variables[name];
  if (rest === '') {
    if (value === undefined) context.unset(name);
    return value ?? '';
  }
  const operator = /^(:?[-?+])/.exec(rest)?.[1];
  if (!operator) return context.fail(`invalid interpolation format: "\${${body}}"`);
  const word = () => interpolate(rest.slice(operator.length), context);
  const missing = operator.startsWith(':') ? value === undefined || value === '' : value === undefined;
  switch (operator.replace(':', '')) {
    case '-':
      return missing ? word() : value!;
    case '+':
      return missing ? '' : word();
    default: // '?'
      if (missing) {
        const message = word();
        return context.fail(`required variable ${name} is missing a value${message ? `: ${message}` : ''}`);
      }
      return value!;
  }
}

/** `text` with every variable substituted. */
export function interpolate(text: string, context: InterpolationContext): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char !== '$') {
      out += char;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) return context.fail(`invalid interpolation format: "${text}" (an unclosed \${)`);
      out += substitute(text.slice(i + 2, end), context);
      i = end;
    } else {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      if (!name) {
        out += '$'; // a lone $ stays, as in Compose
        continue;
      }
      const value = context.variables[name];
      if (value === undefined) context.unset(name);
      out += value ?? '';
      i += name.length;
    }
  }
  return out;
}
