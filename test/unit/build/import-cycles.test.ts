// No import cycles in what ships: the graph is the bundle's own, from the
// metafile of esbuild bundling the entry of build/build.mjs (static and
// dynamic imports alike; `import type` does not reach the bundle, so it is
// not counted). Checked at two grains: files, and the folders that are the
// modules of lib/ and hooks/ (dependencies point one way: hooks -> lib, and
// between the folders of lib/ no way back).

import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const ENTRY = 'hooks/main.ts';

type Graph = Map<string, Set<string>>;

async function fileGraph(): Promise<Graph> {
  const { metafile } = await build({
    absWorkingDir: root,
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    loader: { '.sh': 'text', '.rules': 'text' },
    logLevel: 'silent',
  });
  const ours = (p: string) => /^(lib|hooks)\/.*\.ts$/.test(p);
  const graph: Graph = new Map();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (!ours(file)) continue;
    graph.set(file, new Set(input.imports.filter((i) => !i.external && ours(i.path)).map((i) => i.path)));
  }
  return graph;
}

/** The module a file belongs to: its folder under lib/ or hooks/ (lib/doctor/checks/x.ts is lib/doctor: a module's subfolders are its own business). */
function moduleOf(file: string): string {
  return dirname(file).split('/').slice(0, 2).join('/');
}

function folderGraph(files: Graph): Graph {
  const graph: Graph = new Map();
  for (const [file, imports] of files) {
    const from = moduleOf(file);
    if (!graph.has(from)) graph.set(from, new Set());
    for (const to of imports) if (moduleOf(to) !== from) graph.get(from)!.add(moduleOf(to));
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan). */
function components(graph: Graph): Set<string>[] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: Set<string>[] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      component.add(w);
    } while (w !== v);
    if (component.size > 1 || graph.get(v)?.has(v)) found.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** Every edge that lies on a cycle, with the shortest cycle through it. */
function cycleEdges(graph: Graph): Map<string, string> {
  const edges = new Map<string, string>();
  for (const component of components(graph)) {
    for (const from of [...component].sort()) {
      for (const to of [...(graph.get(from) ?? [])].sort()) {
        if (!component.has(to)) continue;
        // Breadth-first from `to` back to `from`, inside the component.
        const back = new Map<string, string>([[to, to]]);
        const queue = [to];
        while (!back.has(from)) {
          const v = queue.shift()!;
          for (const w of graph.get(v) ?? []) if (component.has(w) && !back.has(w)) (back.set(w, v), queue.push(w));
        }
        const path: string[] = [];
        for (let v = from; ; v = back.get(v)!) {
          path.unshift(v);
          if (v === to) break;
        }
        edges.set(`${from} -> ${to}`, [from, ...path].join(' -> '));
      }
    }
  }
  return edges;
}

describe('import cycles in the bundle of ' + ENTRY, async () => {
  const files = await fileGraph();
  const folders = folderGraph(files);

  it('reads the whole product: the entry, every hook and the lib modules they use', () => {
    expect(files.has(ENTRY)).toBe(true);
    expect(files.size).toBeGreaterThan(50);
    expect([...folders.keys()]).toEqual(expect.arrayContaining(['hooks', 'hooks/dhclient', 'lib/plan', 'lib/apply']));
  });

  it('finds a cycle when there is one (the check itself)', () => {
    const graph: Graph = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a', 'd'])], ['d', new Set()]]);
    expect(cycleEdges(graph)).toEqual(new Map([
      ['a -> b', 'a -> b -> c -> a'],
      ['b -> c', 'b -> c -> a -> b'],
      ['c -> a', 'c -> a -> b -> c'],
    ]));
    expect(cycleEdges(new Map([['a', new Set(['a'])]]))).toEqual(new Map([['a -> a', 'a -> a']]));
  });

  it('no cycle between files', () => {
    const cycles = [...cycleEdges(files).values()];
    expect(cycles).toEqual([]);
  });

  it('no cycle between folders', () => {
    // Each named with the imports that make its first step.
    const imports = (edge: string) => {
      const [from, to] = edge.split(' -> ');
      return [...files].flatMap(([f, i]) => (moduleOf(f) === from ? [...i].filter((t) => moduleOf(t) === to).map((t) => `${f} -> ${t}`) : []));
    };
    const cycles = [...cycleEdges(folders)]
      .map(([edge, cycle]) => `${cycle} (${imports(edge).join(', ')})`);
    expect(cycles).toEqual([]);
  });
});
