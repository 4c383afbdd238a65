import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Just enough of HCL's surface to check the Terraform in tests without providers (which this
 * machine can't download): comments stripped, balanced brackets found, `locals` values resolved
 * through `local.x` and `merge(...)`. Not a parser; it reads the layout this repository writes.
 */

/** Every `.tf` file of a directory, comments removed, concatenated. */
export function readModule(dir: string): string {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.tf'))
    .sort()
    .map((name) => stripComments(readFileSync(join(dir, name), 'utf8')))
    .join('\n');
}

/** Removes `#`, `//` and block comments; string contents (URLs, `${...}`) are kept as they are. */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (ch === '#' || (ch === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (ch === '<' && text.startsWith('<<', i) && /^<<-?[A-Z]+\n/.test(text.slice(i, i + 40))) {
      const end = skipHeredoc(text, i);
      out += text.slice(i, end);
      i = end;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Index just past the string opening at `start` (a `"`), across `${ ... }` with nested strings. */
function skipString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\\') i += 2;
    else if (ch === '"') return i + 1;
    else if (ch === '$' && text[i + 1] === '{') i = matching(text, i + 1) + 1;
    else i++;
  }
  throw new Error(`unterminated string at offset ${start}`);
}

function skipHeredoc(text: string, start: number): number {
  const marker = /^<<-?([A-Z]+)\n/.exec(text.slice(start))!;
  const terminator = new RegExp(`^\\s*${marker[1]}\\s*$`, 'm');
  const body = start + marker[0].length;
  const found = terminator.exec(text.slice(body));
  if (!found) throw new Error(`unterminated heredoc ${marker[1]} at offset ${start}`);
  return body + found.index + found[0].length;
}

const closers: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index of the bracket closing the one at `open`, skipping strings. */
export function matching(text: string, open: number): number {
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      i = skipString(text, i);
      continue;
    }
    if (ch in closers) stack.push(closers[ch]!);
    else if (ch === '}' || ch === ']' || ch === ')') {
      if (stack.pop() !== ch) throw new Error(`unbalanced '${ch}' at offset ${i}`);
      if (stack.length === 0) return i;
    }
    i++;
  }
  throw new Error(`no closing bracket for offset ${open}`);
}

/** The body (between the braces) of every block whose header matches, e.g. `resource "aws_s3_bucket_versioning" "artifacts"`. */
export function blocks(text: string, header: RegExp): string[] {
  const found: string[] = [];
  const pattern = new RegExp(`(?:^|\\n)\\s*${header.source}\\s*\\{`, 'g');
  for (const match of text.matchAll(pattern)) {
    const open = match.index + match[0].length - 1;
    found.push(text.slice(open + 1, matching(text, open)));
  }
  return found;
}

/** Every `{ ... }` of the text (outside strings), outermost first, nested ones too. */
export function objects(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      i = skipString(text, i);
      continue;
    }
    if (ch === '{') found.push(text.slice(i, matching(text, i) + 1));
    i++;
  }
  return found;
}

/** The raw expression assigned to `name` at the top level of `body` (an object or block body). */
export function attribute(body: string, name: string): string | undefined {
  let depth = 0;
  let i = 0;
  while (i < body.length) {
    const ch = body[i]!;
    if (ch === '"') {
      i = skipString(body, i);
      continue;
    }
    if (ch in closers) depth++;
    else if (ch === '}' || ch === ']' || ch === ')') depth--;
    else if (depth === 0 && (i === 0 || /[\s{,]/.test(body[i - 1]!))) {
      const match = new RegExp(`^"?${escape(name)}"?\\s*=(?![=>])\\s*`).exec(body.slice(i));
      if (match) return expressionAt(body, i + match[0].length);
    }
    i++;
  }
  return undefined;
}

/** The expression starting at `start`: a bracketed value, a call, or the rest of the line. */
function expressionAt(text: string, start: number): string {
  let i = start;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\n' || ch === ',') break;
    if (ch === '"') {
      i = skipString(text, i);
      continue;
    }
    if (ch in closers) {
      i = matching(text, i) + 1;
      continue;
    }
    if (ch === '}' || ch === ']' || ch === ')') break;
    i++;
  }
  return text.slice(start, i).trim();
}

/** Every `locals { ... }` assignment of a module, by name. */
export function locals(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const body of blocks(text, /locals/)) {
    for (const match of body.matchAll(/(?:^|\n)\s*([a-z_][a-z0-9_]*)\s*=(?![=>])/g)) {
      const value = attribute(body, match[1]!);
      // Only top-level names of the block: a nested key of the same name would resolve differently.
      if (value !== undefined && !values.has(match[1]!)) values.set(match[1]!, value);
    }
  }
  return values;
}

/**
 * The environment-variable names (upper case) an expression defines, with their raw value
 * expressions, following `local.x` references and `merge(...)` arguments. Later arguments of a
 * merge win, as in Terraform.
 */
export function variables(
  expression: string,
  scope: Map<string, string>,
  seen = new Set<string>(),
): Map<string, string> {
  const result = new Map<string, string>();
  const expr = expression.trim();
  const reference = /^local\.([a-z_][a-z0-9_]*)$/.exec(expr);
  if (reference) {
    const name = reference[1]!;
    if (seen.has(name)) throw new Error(`local.${name} refers to itself`);
    const value = scope.get(name);
    if (value === undefined) throw new Error(`local.${name} is not defined`);
    return variables(value, scope, new Set([...seen, name]));
  }
  if (expr.startsWith('merge(')) {
    for (const argument of splitArguments(expr.slice('merge('.length, matching(expr, 'merge'.length)))) {
      for (const [key, value] of variables(argument, scope, seen)) result.set(key, value);
    }
    return result;
  }
  if (expr.startsWith('{')) {
    // `{ for name, value in { X = ... } : name => value if ... }`: the names come from the inner object.
    const inner = /^\{\s*for\s[^{]*(\{[\s\S]*)$/.exec(expr);
    const body = inner ? inner[1]!.slice(1, matching(inner[1]!, 0)) : expr.slice(1, matching(expr, 0));
    for (const match of body.matchAll(/(?:^|[\s{,])([A-Z][A-Z0-9_]*)\s*=(?![=>])/g)) {
      const value = attribute(body, match[1]!);
      if (value !== undefined) result.set(match[1]!, value);
    }
    return result;
  }
  throw new Error(`cannot read environment variables from: ${expr.slice(0, 80)}`);
}

/** Top-level comma-separated arguments of a call's argument list. */
function splitArguments(list: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < list.length) {
    const ch = list[i]!;
    if (ch === '"') {
      i = skipString(list, i);
      continue;
    }
    if (ch in closers) {
      i = matching(list, i) + 1;
      continue;
    }
    if (ch === ',') {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  parts.push(list.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** A quoted literal without interpolation, unquoted; undefined for any other expression. */
export function literal(expression: string | undefined): string | undefined {
  if (expression === undefined) return undefined;
  const match = /^"((?:[^"\\$]|\\.)*)"$/.exec(expression.trim());
  return match ? JSON.parse(`"${match[1]!}"`) : undefined;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
