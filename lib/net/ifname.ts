// Linux interface names. The kernel accepts almost any byte in a name
// (`$`, `;`, quotes): we never pass one through a shell, but we do refuse
// what the kernel itself would refuse, so a hostile value stops here.

export const IFNAMSIZ = 16;

export class IfnameError extends Error {
  constructor(received: string, why: string) {
    super(`expected a Linux interface name (1-15 bytes, no '/', ':' or white space), received ${JSON.stringify(received)}: ${why}`);
    this.name = 'IfnameError';
  }
}

/** Returns why `name` is not a valid interface name, or undefined if it is. */
export function ifnameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'empty';
  if (Buffer.byteLength(name) >= IFNAMSIZ) return `longer than ${IFNAMSIZ - 1} bytes`;
  if (name === '.' || name === '..') return 'reserved name';
  // The kernel's dev_valid_name(): no '/', ':' or isspace() characters.
  for (const c of name) if (c === '/' || c === ':' || c === '\0' || c.trim() === '') return "contains '/', ':', NUL or white space";
  return undefined;
}

/** Validates and returns an interface name; throws IfnameError otherwise. */
export function parseIfname(name: unknown): string {
  const problem = ifnameProblem(name);
  if (problem) throw new IfnameError(String(name), problem);
  return name as string;
}

/**
 * Shell-style glob (`*`, `?`) match of an interface name against a pattern.
 * No RegExp: every hook matches each ignore_interfaces pattern, and compiling
 * a regular expression per pattern cost more than the match (cold code).
 */
export function ifnameMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  // After a `*`: where it is in the pattern, and how much of the name it took.
  let star = -1;
  let taken = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      taken = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++taken;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
