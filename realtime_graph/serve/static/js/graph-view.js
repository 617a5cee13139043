// The handoff graph as SVG, from the `session` message's graph data:
// {start, agents: [{name, tools, handoffs, guardrails}]}. Layered top-down by handoff distance
// from the start agent; a pair of agents that hand off both ways gets one double-headed edge.
import { h, s } from "./dom.js";

const NODE_W = 132;
const NODE_H = 46;
const GAP_X = 20;
const GAP_Y = 58;
const PAD = 12;
const TOP = 30; // room above the first row for the start marker

/**
 * Pure layout: positions of nodes and the edges between them.
 * @returns {{width: number, height: number, nodes: Array<{name, x, y, depth, agent}>,
 *            edges: Array<{from, to, both: boolean}>}}
 */
export function layoutGraph(graph) {
  const agents = new Map(graph.agents.map((a) => [a.name, a]));
  const depth = new Map();
  const order = [];
  const queue = agents.has(graph.start) ? [graph.start] : [];
  if (queue.length) depth.set(graph.start, 0);
  while (queue.length) {
    const name = queue.shift();
    order.push(name);
    for (const target of agents.get(name).handoffs || []) {
      if (agents.has(target) && !depth.has(target)) {
        depth.set(target, depth.get(name) + 1);
        queue.push(target);
      }
    }
  }
  const unreachable = graph.agents.map((a) => a.name).filter((n) => !depth.has(n));
  const lastDepth = order.length ? Math.max(...depth.values()) : -1;
  for (const name of unreachable) {
    depth.set(name, lastDepth + 1);
    order.push(name);
  }
  const rows = [];
  for (const name of order) (rows[depth.get(name)] ||= []).push(name);
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
  const height = TOP + PAD + rows.length * NODE_H + Math.max(0, rows.length - 1) * GAP_Y;
  const nodes = [];
  rows.forEach((row, r) => {
    const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    row.forEach((name, i) => {
      nodes.push({ name, x: x0 + i * (NODE_W + GAP_X), y: TOP + r * (NODE_H + GAP_Y), depth: r, agent: agents.get(name) });
    });
  });
  const edges = [];
  const seen = new Set();
  for (const agent of graph.agents) {
    for (const target of agent.handoffs || []) {
      if (!agents.has(target) || target === agent.name) continue;
      const back = (agents.get(target).handoffs || []).includes(agent.name);
      const key = back ? [agent.name, target].sort().join("\u0000") : `${agent.name}\u0000${target}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push({ from: agent.name, to: target, both: back });
    }
  }
  return { width, height, nodes, edges };
}

/**
 * Where each edge meets its nodes: edges between rows leave the upper node's bottom and enter
 * the lower node's top; edges within a row use both bottoms. Several edges on one side are
 * spread along it in the order of their other ends, so arrowheads never stack.
 */
export function edgeAnchors(layout) {
  const byName = new Map(layout.nodes.map((n) => [n.name, n]));
  const sides = new Map(); // `${name}:${top|bottom}` -> [{edge, end, otherX}]
  const attach = (node, side, edge, end, other) => {
    const key = `${node.name}:${side}`;
    if (!sides.has(key)) sides.set(key, []);
    sides.get(key).push({ edge, end, otherX: other.x });
  };
  for (const edge of layout.edges) {
    const a = byName.get(edge.from);
    const b = byName.get(edge.to);
    const upper = a.depth <= b.depth ? a : b;
    const lower = upper === a ? b : a;
    const same = a.depth === b.depth;
    attach(upper, "bottom", edge, upper === a ? "from" : "to", lower);
    attach(lower, same ? "bottom" : "top", edge, lower === a ? "from" : "to", upper);
  }
  const points = new Map(layout.edges.map((e) => [e, {}]));
  for (const [key, list] of sides) {
    const [name, side] = key.split(":");
    const node = byName.get(name);
    list.sort((p, q) => p.otherX - q.otherX);
    list.forEach((entry, i) => {
      const x = node.x + (NODE_W * (i + 1)) / (list.length + 1);
      const y = side === "top" ? node.y : node.y + NODE_H;
      points.get(entry.edge)[entry.end] = { x, y, side };
    });
  }
  return points;
}

function edgePath(from, to) {
  if (from.side === "bottom" && to.side === "bottom") {
    const mid = (from.x + to.x) / 2;
    return `M ${from.x} ${from.y} Q ${mid} ${from.y + GAP_Y * 0.8} ${to.x} ${to.y}`;
  }
  const my = (from.y + to.y) / 2;
  return `M ${from.x} ${from.y} C ${from.x} ${my} ${to.x} ${my} ${to.x} ${to.y}`;
}

function summary(agent) {
  const parts = [];
  const tools = (agent.tools || []).length;
  const guards = (agent.guardrails || []).length;
  parts.push(`${tools} tool${tools === 1 ? "" : "s"}`);
  if (guards) parts.push(`${guards} guardrail${guards === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

export class GraphView {
  /** @param {HTMLElement} container @param {HTMLElement} details */
  constructor(container, details) {
    this.container = container;
    this.details = details;
    this.graph = null;
    this.active = null;
  }

  render(graph) {
    this.graph = graph;
    const layout = layoutGraph(graph);
    this.byName = new Map(layout.nodes.map((n) => [n.name, n]));
    const svg = s("svg", {
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      width: layout.width,
      height: layout.height,
      role: "img",
      "aria-labelledby": "graph-title",
      "data-testid": "graph-svg",
      class: "graph-svg",
    });
    svg.append(
      s("title", { id: "graph-title", text: `Handoff graph: ${graph.agents.length} agents, start ${graph.start}` }),
      s("defs", {},
        s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7",
          orient: "auto-start-reverse" }, s("path", { d: "M 0 1 L 9 5 L 0 9 z", class: "arrow-head" }))),
    );
    this.edgeEls = new Map();
    const anchors = edgeAnchors(layout);
    for (const edge of layout.edges) {
      const ends = anchors.get(edge);
      const path = s("path", {
        d: edgePath(ends.from, ends.to),
        class: "graph-edge",
        "marker-end": "url(#arrow)",
        "marker-start": edge.both ? "url(#arrow)" : null,
        "data-from": edge.from,
        "data-to": edge.to,
      });
      this.edgeEls.set(`${edge.from}\u0000${edge.to}`, path);
      if (edge.both) this.edgeEls.set(`${edge.to}\u0000${edge.from}`, path);
      svg.append(path);
    }
    this.nodeEls = new Map();
    for (const node of layout.nodes) {
      const g = s("g", {
        class: `graph-node${node.name === graph.start ? " is-start" : ""}`,
        transform: `translate(${node.x} ${node.y})`,
        "data-testid": "graph-node",
        "data-agent": node.name,
      },
      s("title", { text: `${node.name}: ${summary(node.agent)}` }),
      s("rect", { width: NODE_W, height: NODE_H, rx: 10 }),
      s("text", { x: NODE_W / 2, y: 19, class: "node-name", text: node.name }),
      s("text", { x: NODE_W / 2, y: 35, class: "node-meta", text: summary(node.agent) }));
      this.nodeEls.set(node.name, g);
      svg.append(g);
      if (node.name === graph.start) {
        const cx = node.x + NODE_W / 2;
        svg.append(s("g", { class: "graph-start", "aria-hidden": "true" },
          s("circle", { cx, cy: node.y - 24, r: 4 }),
          s("path", { d: `M ${cx} ${node.y - 20} L ${cx} ${node.y - 2}`, "marker-end": "url(#arrow)" })));
      }
    }
    this.container.replaceChildren(svg);
    if (this.active) this.setActive(this.active);
  }

  setActive(name) {
    this.active = name;
    if (!this.graph) return;
    for (const [agent, el] of this.nodeEls) {
      el.classList.toggle("is-active", agent === name);
      if (agent === name) el.setAttribute("aria-current", "true");
      else el.removeAttribute("aria-current");
    }
    this.renderDetails(name);
  }

  /** Flash the edge a handoff took. */
  handoff(from, to) {
    for (const el of this.edgeEls.values()) el.classList.remove("is-recent");
    const edge = this.edgeEls.get(`${from}\u0000${to}`);
    if (edge) edge.classList.add("is-recent");
    this.setActive(to);
  }

  renderDetails(name) {
    const agent = this.graph && this.graph.agents.find((a) => a.name === name);
    if (!agent) {
      this.details.replaceChildren();
      return;
    }
    const row = (label, items) => [
      h("dt", { text: label }),
      h("dd", {}, items.length ? items.map((t) => h("code", { text: t })) : h("span", { class: "muted", text: "none" })),
    ];
    this.details.replaceChildren(
      h("dl", { class: "agent-details", "data-testid": "active-agent-details" },
        row("Tools", agent.tools || []), row("Hands off to", agent.handoffs || []), row("Guardrails", agent.guardrails || [])),
    );
  }
}
