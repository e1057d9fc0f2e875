// Word wrapping for the human reports (doctor, demo): 80 columns, counted in
// characters (code points), not bytes or UTF-16 units.

export const WIDTH = 80;

/** Wraps text at word boundaries; every line starts with `indent`, the first with `first`. Long words stay whole. */
export function wrap(text: string, indent: string, first = indent, width = WIDTH): string[] {
  const out: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && [...line].length + 1 + [...word].length > width) {
      out.push(line);
      line = indent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  if (!empty || !out.length) out.push(line);
  return out;
}
