import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { VM_LAYOUT } from "../../config/versions";
import { type OfflineRun, revealSecrets } from "../../scripts/lib/render/offlineEngine";
import { readPage } from "../helpers/docs";
import { fencedBlocks } from "../helpers/markdown";
import { type Flowchart, MermaidError, parseFlowchart } from "../helpers/mermaid";
import {
  exampleConfig,
  ofType,
  RECORDING_EXAMPLE,
  RECORDING_SECRET_KEYS,
  runProgram,
} from "../helpers/program";
import { REFERENCE_DIR } from "../helpers/settings";
import { writtenFiles } from "../helpers/userData";

/**
 * What the program declares, and the node of the README's picture that shows it. Keys are component
 * types (the token issuer by where it runs, satellite VMs by role), server roles, and the containers of
 * the meeting VM's compose stack. Anything the program declares that is missing here fails the test:
 * draw it, then add a line.
 */
const DRAWN_AS: Record<string, string> = {
  "jitsi-stack:secrets:JitsiSecrets": "secrets",
  "jitsi-stack:network:PublicIps": "ips",
  "jitsi-stack:storage:StateVolume": "volume",
  "jitsi-stack:dns:MeetDns": "dns",
  "jitsi-stack:compute:JitsiHost": "meeting",
  "jitsi-stack:deploy:ReadinessGate": "gate",
  "jitsi-stack:turn:TurnServer": "turn",
  "jitsi-stack:compute:Satellite role=turn": "turn",
  "jitsi-stack:issuer:TokenIssuer target=worker": "worker",
  "jitsi-stack:issuer:TokenIssuer target=host": "issuerhost",
  "server role=meeting": "meeting",
  "server role=turn": "turn",
  "jitsi-stack:network:PrivateNetwork": "private",
  "jitsi-stack:bridge:Bridge": "bridges",
  "jitsi-stack:compute:Satellite role=bridge": "bridges",
  "server role=bridge": "bridges",
  "jitsi-stack:recording:Recorder": "recorders",
  "jitsi-stack:compute:Satellite role=recorder": "recorders",
  "server role=recorder": "recorders",
  "container web": "web",
  "container prosody": "prosody",
  "container jicofo": "jicofo",
  "container jvb": "jvb",
  "container token-issuer": "issuerhost",
  "container token-issuer-deps": "issuerhost",
};

/** Every optional feature on, across the runs: TURN (default on), each issuer placement, bridges, recorders. */
const RUNS = [
  { issuerTarget: "worker", turnEnabled: "true", bridges: "2", ...RECORDING_EXAMPLE },
  { issuerTarget: "host", turnEnabled: "true" },
];

const picture = () => {
  const blocks = fencedBlocks(readPage("README.md"), "mermaid");
  expect(blocks).toHaveLength(1);
  return parseFlowchart(blocks[0]!);
};

/** The compose services the meeting VM starts: every `-f` file its units pass to `docker compose`. */
function meetingContainers(run: OfflineRun): string[] {
  const server = ofType(run, "hcloud:index/server:Server").find((s) => !labelsOf(s.inputs).role)!;
  const files = writtenFiles(String(revealSecrets(server.inputs.userData)));
  const composeFiles = files
    .filter((f) => f.path.startsWith("/etc/systemd/system/"))
    .flatMap((f) => [...f.content.matchAll(/^ExecStart=.*docker compose (.*)$/gm)])
    .flatMap((m) => [...m[1]!.matchAll(/-f (\S+)/g)].map((f) => f[1]!));
  expect(composeFiles).toContain("docker-compose.yml");
  // The unit runs in the Jitsi directory; the release's own compose file is the reference copy.
  const base = path.posix.join(VM_LAYOUT.jitsiDir, "docker-compose.yml");
  return [...new Set(composeFiles.map((name) => path.posix.resolve(VM_LAYOUT.jitsiDir, name)))].flatMap(
    (file) => {
      const text =
        file === base
          ? readFileSync(path.join(REFERENCE_DIR, "docker-compose.yml"), "utf8")
          : files.find((f) => f.path === file)!.content;
      return Object.keys((parse(text) as { services: Record<string, unknown> }).services);
    },
  );
}

const labelsOf = (inputs: Record<string, unknown>) =>
  (revealSecrets(inputs.labels) ?? {}) as Record<string, string>;

/** What one run of the program declares, as keys of DRAWN_AS. */
function declared(run: OfflineRun, issuerTarget: string): string[] {
  const servers = ofType(run, "hcloud:index/server:Server");
  const components = run.components.map(({ type, name }) => {
    if (type === "jitsi-stack:issuer:TokenIssuer") return `${type} target=${issuerTarget}`;
    if (type === "jitsi-stack:compute:Satellite") {
      const server = servers.find((s) => s.name === `${name}-server`)!;
      return `${type} role=${labelsOf(server.inputs).role}`;
    }
    return type;
  });
  const roles = servers.map((s) => `server role=${labelsOf(s.inputs).role ?? "meeting"}`);
  const containers = meetingContainers(run).map((service) => `container ${service}`);
  return [...components, ...roles, ...containers];
}

describe("the README's picture", () => {
  it("is one Mermaid flowchart that parses", () => {
    const chart = picture();
    expect(chart.nodes.size).toBeGreaterThan(10);
    expect(chart.edges.length).toBeGreaterThan(10);
  });

  it("draws every component, server role and container the program declares, with every feature on", async () => {
    const chart = picture();
    const all = new Set<string>();
    for (const config of RUNS) {
      const run = await runProgram(exampleConfig(config, RECORDING_SECRET_KEYS));
      for (const key of declared(run, config.issuerTarget)) all.add(key);
    }
    expect([...all].filter((key) => !(key in DRAWN_AS))).toEqual([]);
    expect(
      [...all].filter((key) => !chart.nodes.has(DRAWN_AS[key]!) && !chart.subgraphs.has(DRAWN_AS[key]!)),
    ).toEqual([]);
    // Guard against a stale table: each entry is still something the program declares.
    expect(Object.keys(DRAWN_AS).filter((key) => !all.has(key))).toEqual([]);
  }, 60_000);

  it("puts web, prosody, jicofo and jvb inside the meeting VM, and the way a browser comes in", () => {
    const chart = picture();
    const meeting = chart.subgraphs.get("meeting")!;
    expect(["web", "prosody", "jicofo", "jvb"].filter((id) => !meeting.members.has(id))).toEqual([]);
    const edge = (from: string, to: string) => chart.edges.some((e) => e.from === from && e.to === to);
    expect(
      edge("browser", "dns") && edge("browser", "web") && edge("browser", "jvb") && edge("app", "worker"),
    ).toBe(true);
  });
});

describe("the flowchart reader refuses what Mermaid would not draw", () => {
  const good =
    'flowchart LR\n  a["A"]\n  subgraph g["G"]\n    b[("B")]\n  end\n  a -->|"x: y"| b\n  a -.-> g';

  it("reads a good chart", () => {
    const chart: Flowchart = parseFlowchart(good);
    expect([...chart.nodes.keys()]).toEqual(["a", "b"]);
    expect([...chart.subgraphs.get("g")!.members]).toEqual(["b"]);
    expect(chart.edges).toEqual([
      { from: "a", to: "b", label: "x: y" },
      { from: "a", to: "g", label: undefined },
    ]);
  });

  it.each([
    ["an unknown direction", good.replace("flowchart LR", "flowchart XY")],
    ["not a flowchart", good.replace("flowchart LR", "graph")],
    ["an edge to an undeclared node", `${good}\n  a --> c`],
    ["a subgraph without end", good.replace("  end\n", "")],
    ["an end too many", `${good}\nend`],
    ["'end' as an id", `${good}\n  end["E"]`],
    ["a node declared twice", `${good}\n  a["again"]`],
    ["an unquoted label with parentheses", `${good}\n  c[C (see)]`],
    ["a quote inside a label", `${good}\n  c["say "hi""]`],
    ["an unknown arrow", `${good}\n  a ~~> b`],
  ])("refuses %s", (_what, source) => {
    expect(() => parseFlowchart(source)).toThrow(MermaidError);
  });
});
