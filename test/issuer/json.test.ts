import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findIJsonProblem, parseIJson } from "../../issuer/json";

/** Python's json module, run over many texts at once: an independent judge (json_oracle.py). */
function oracle(texts: string[]): Array<{ ok: boolean; repeated?: string[]; lone?: boolean }> {
  const run = spawnSync("/usr/bin/python3", [path.join(__dirname, "json_oracle.py")], {
    input: JSON.stringify(texts),
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout);
}

/** A seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** JSON string literals as clients write them: plain, escaped, with pairs and lone surrogates. */
const PIECES = [
  "a",
  "b",
  "name",
  "room",
  "é",
  "😀",
  "\\u0061",
  "\\\\",
  '\\"',
  "\\n",
  "\\/",
  "\\ud83d\\ude00",
  "\\ud800",
  "\\udc00",
  " ",
];

function randomText(pick: (n: number) => number): string {
  const keys = ["a", "b", "name", "\\u0061", "room", "\\u0072oom", "moderator", "__proto__", "\\ud800", ""];
  const space = () => [" ", "", "\n", "\t", ""][pick(5)]!;
  const str = () => `"${Array.from({ length: pick(4) }, () => PIECES[pick(PIECES.length)]).join("")}"`;
  const value = (depth: number): string => {
    const kind = depth > 3 ? pick(4) : pick(6);
    if (kind === 0) return str();
    if (kind === 1) return String(pick(1000) - 500);
    if (kind === 2) return ["true", "false", "null", "1.5e3"][pick(4)]!;
    if (kind === 3) return str();
    if (kind === 4) return `[${Array.from({ length: pick(4) }, () => space() + value(depth + 1)).join(",")}]`;
    const members = Array.from(
      { length: pick(5) },
      () => `${space()}"${keys[pick(keys.length)]}"${space()}:${space()}${value(depth + 1)}`,
    );
    return `{${members.join(",")}${space()}}`;
  };
  return pick(8) === 0 ? value(0).slice(0, -1) : value(0); // now and then, not JSON at all
}

describe("I-JSON parsing", () => {
  it("agrees with Python's json module on 3,000 random texts: syntax, repeated keys and lone surrogates", () => {
    const pick = random(13);
    const texts = Array.from({ length: 3000 }, () => randomText(pick));
    const judged = oracle(texts);
    const disagreements: string[] = [];
    texts.forEach((text, i) => {
      const ours = parseIJson(text);
      const theirs = judged[i]!;
      const oursOk = !("problem" in ours && ours.problem.kind === "syntax");
      const repeatedKey =
        "problem" in ours && ours.problem.kind === "duplicate_key" ? ours.problem.key : undefined;
      const oursRepeated = repeatedKey !== undefined;
      const oursLone = "problem" in ours && ours.problem.kind === "lone_surrogate";
      const expected = !theirs.ok
        ? "syntax"
        : theirs.repeated!.length > 0
          ? "duplicate_key"
          : theirs.lone
            ? "lone_surrogate"
            : "value";
      const got = !oursOk ? "syntax" : oursRepeated ? "duplicate_key" : oursLone ? "lone_surrogate" : "value";
      // A text with both a repeated key and a lone surrogate is refused for whichever comes first.
      const both = theirs.ok && theirs.repeated!.length > 0 && theirs.lone && got === "lone_surrogate";
      if (got !== expected && !both)
        disagreements.push(`${JSON.stringify(text)}: ours ${got}, Python ${expected}`);
      // With a duplicate, ours names one that Python saw repeated.
      if (repeatedKey !== undefined && !theirs.repeated!.includes(repeatedKey)) {
        disagreements.push(`${JSON.stringify(text)}: ours names ${repeatedKey}, Python ${theirs.repeated}`);
      }
    });
    expect(disagreements.slice(0, 10)).toEqual([]);
    // The sample covers every outcome.
    const outcomes = new Set(
      judged.map((j) => (!j.ok ? "syntax" : j.repeated!.length ? "dup" : j.lone ? "lone" : "ok")),
    );
    expect(outcomes).toEqual(new Set(["syntax", "dup", "lone", "ok"]));
  });

  it.each([
    ['{"a":1,"a":2}', { key: "a", path: "" }],
    ['{"a":{"b":[1,{"c":1,"c":2}]}}', { key: "c", path: "a.b[1]" }],
    ['[{"x":1},{"x":1},{"y":[{"z":0,"\\u007a":1}]}]', { key: "z", path: "[2].y[0]" }],
    ['{"a\\"b":1,"a\\u0022b":2}', { key: 'a"b', path: "" }],
    ['{"a":"\\"a\\":","a":1}', { key: "a", path: "" }],
  ])("names the repeated key of %s and where it is", (text, found) => {
    expect(findIJsonProblem(text)).toEqual({ kind: "duplicate_key", ...found });
  });

  it.each([
    ['"\\ud800"', ""],
    ['{"a":["ok","\\udc00"]}', "a[1]"],
    ['{"a":{"\\ud800x":1}}', "a.\ufffdx"],
    ['[{"n":"\\ude00\\ud83d"}]', "[0].n"],
  ])("names where %s holds a lone surrogate", (text, path) => {
    expect(findIJsonProblem(text)).toEqual({ kind: "lone_surrogate", path });
  });

  it.each(['{"a":{"a":{"a":1}}}', '[{"a":1},{"a":1}]', '{"a":"a","b":["a","a"]}', '{"":1,"\\u0000":2}'])(
    "finds no repeated key in %s",
    (text) => {
      expect(findIJsonProblem(text)).toBeUndefined();
    },
  );
});
