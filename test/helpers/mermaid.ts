/**
 * A strict reader for the subset of Mermaid flowchart syntax the README's picture uses. Mermaid's own
 * flowchart grammar ships only inside the `mermaid` package (d3, cytoscape, KaTeX, DOMPurify, and a DOM
 * to run in); `@mermaid-js/parser` 2.x parses other diagram types but not flowcharts. So this reads a
 * small, unambiguous dialect and refuses everything else: a picture that passes here uses only
 * constructs Mermaid documents (https://mermaid.js.org/syntax/flowchart.html).
 */

export interface Flowchart {
  direction: string;
  /** Node id → its label. */
  nodes: Map<string, string>;
  /** Subgraph id → its label and the ids declared inside it (nested subgraphs' members included). */
  subgraphs: Map<string, { label: string; members: Set<string> }>;
  edges: { from: string; to: string; label?: string }[];
}

const ID = "[A-Za-z][A-Za-z0-9_]*";
const LABEL = '"([^"\\n]*)"';
/** Node shapes with a quoted label: rectangle, rounded, stadium, cylinder, subroutine, circle, rhombus, hexagon. */
const SHAPES: [string, string][] = [
  ["\\[\\(", "\\)\\]"],
  ["\\(\\[", "\\]\\)"],
  ["\\[\\[", "\\]\\]"],
  ["\\(\\(", "\\)\\)"],
  ["\\{\\{", "\\}\\}"],
  ["\\[", "\\]"],
  ["\\(", "\\)"],
  ["\\{", "\\}"],
];
const NODE = new RegExp(`^(${ID})(?:${SHAPES.map(([open, close]) => `${open}${LABEL}${close}`).join("|")})$`);
const SUBGRAPH = new RegExp(`^subgraph (${ID})(?:\\[${LABEL}\\])?$`);
const EDGE = new RegExp(`^(${ID}) (-->|---|-\\.->|-\\.-|==>)(?:\\|(?:${LABEL}|([^|"\\n]+))\\|)? (${ID})$`);
const DIRECTIONS = ["TB", "TD", "BT", "RL", "LR"];

export class MermaidError extends Error {}

export function parseFlowchart(source: string): Flowchart {
  const lines = source.split("\n");
  const header = /^flowchart (\S+)$/.exec(lines[0]!.trim());
  if (!header || !DIRECTIONS.includes(header[1]!))
    throw new MermaidError(
      `line 1 must be 'flowchart' and one of ${DIRECTIONS.join(", ")} (got '${lines[0]}')`,
    );
  const chart: Flowchart = { direction: header[1]!, nodes: new Map(), subgraphs: new Map(), edges: [] };
  const open: string[] = [];
  const declare = (id: string, where: number) => {
    // "end" in lower case closes a subgraph; Mermaid cannot use it as an id.
    if (id.toLowerCase() === "end") throw new MermaidError(`line ${where}: '${id}' cannot be an id`);
    if (chart.nodes.has(id) || chart.subgraphs.has(id))
      throw new MermaidError(`line ${where}: '${id}' is declared twice`);
    for (const parent of open) chart.subgraphs.get(parent)!.members.add(id);
  };
  lines.slice(1).forEach((raw, index) => {
    const where = index + 2;
    const line = raw.trim();
    if (line === "" || line.startsWith("%%")) return;
    let m: RegExpExecArray | null;
    if (line === "end") {
      if (open.pop() === undefined) throw new MermaidError(`line ${where}: 'end' without a subgraph`);
    } else if ((m = SUBGRAPH.exec(line))) {
      declare(m[1]!, where);
      chart.subgraphs.set(m[1]!, { label: m[2] ?? m[1]!, members: new Set() });
      open.push(m[1]!);
    } else if ((m = NODE.exec(line))) {
      declare(m[1]!, where);
      chart.nodes.set(
        m[1]!,
        m.slice(2).find((label) => label !== undefined)!,
      );
    } else if ((m = EDGE.exec(line))) {
      chart.edges.push({ from: m[1]!, to: m[5]!, label: m[3] ?? m[4] });
    } else {
      throw new MermaidError(`line ${where}: not a node, edge, subgraph or end: '${line}'`);
    }
  });
  if (open.length > 0) throw new MermaidError(`subgraph '${open.at(-1)}' has no 'end'`);
  for (const { from, to } of chart.edges)
    for (const id of [from, to])
      if (!chart.nodes.has(id) && !chart.subgraphs.has(id))
        throw new MermaidError(`an edge ${from} → ${to} names '${id}', which is declared nowhere`);
  return chart;
}
