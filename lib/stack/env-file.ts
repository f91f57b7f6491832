/**
 * `.env` and `env_file` files as Docker Compose reads them: `KEY=value`
 * lines, `export KEY=value`, `#` comments (also after an unquoted value, past
 * a space), single quotes (literal), double quotes (`\n`, `\t`, `\"`, `\\`
 * escapes, may span lines), a bare `KEY` (taken from the environment when it
 * is set there, otherwise left out).
 */

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** What reading one file needs: the file's name (for errors) and the caller's error. */
export interface EnvFileContext {
  /** Looks up a bare `KEY` line's value. */
  lookup(name: string): string | undefined;
  /** Throws the caller's typed error for a line that is not an assignment. */
  fail(message: string): never;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', $: '$' };

/** Parses the text of an env file into variables, in file order. */
export function parseEnvFile(text: string, context: EnvFileContext): Record<string, string> {
  const variables: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/^\s*(export\s+)?/, '');
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    const key = (equals < 0 ? line : line.slice(0, equals)).trim();
    if (!KEY.test(key)) context.fail(`line ${index + 1}: '${key.slice(0, 80)}' is not a variable name`);
    if (equals < 0) {
      const value = context.lookup(key);
      if (value !== undefined) variables[key] = value;
      continue;
    }
    let value = line.slice(equals + 1).trimStart();
    if (value.startsWith("'") || value.startsWith('"')) {
      const quote = value[0]!;
      let body = value.slice(1);
      let end = quote === '"' ? closingDoubleQuote(body) : body.indexOf("'");
      while (end < 0 && index + 1 < lines.length) { // a quoted value may span lines
        body += `\n${lines[++index]!}`;
        end = quote === '"' ? closingDoubleQuote(body) : body.indexOf("'");
      }
      if (end < 0) context.fail(`line ${index + 1}: the value of ${key} has no closing ${quote}`);
      body = body.slice(0, end);
      value = quote === '"' ? body.replace(/\\(.)/gs, (all, c: string) => ESCAPES[c] ?? all) : body;
    } else {
      value = value.replace(/\s+#.*$/, '').trimEnd();
    }
    variables[key] = value;
  }
  return variables;
}

function closingDoubleQuote(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
