/** Just enough Markdown reading for the docs tests: headings, links and fenced blocks, as GitHub sees them. */

export interface Heading {
  level: number;
  text: string;
  /** The anchor GitHub gives it (`#slug`). */
  slug: string;
}

/** The page with its fenced code blocks blanked out, line count kept, so their `#` lines are no headings. */
function withoutFences(markdown: string): string {
  let fenced = false;
  return markdown
    .split("\n")
    .map((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return "";
      }
      return fenced ? "" : line;
    })
    .join("\n");
}

/**
 * GitHub's heading anchors: lower-cased, punctuation other than `-` and `_` dropped, each space a `-`
 * (github-slugger's rule; our headings are ASCII, so its Unicode tables are not needed).
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/ /g, "-");
}

export function headings(markdown: string): Heading[] {
  const seen = new Map<string, number>();
  return [...withoutFences(markdown).matchAll(/^(#{1,6}) +(.+?) *#*$/gm)].map((m) => {
    const base = githubSlug(m[2]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    return { level: m[1]!.length, text: m[2]!, slug: count === 0 ? base : `${base}-${count}` };
  });
}

/** Targets of inline links `[text](target)` outside code blocks and code spans. */
export function links(markdown: string): string[] {
  const prose = withoutFences(markdown).replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

/** The bodies of the page's fenced blocks of one language (` ```mermaid `). */
export function fencedBlocks(markdown: string, language: string): string[] {
  const pattern = new RegExp("^```" + language + "\\n([\\s\\S]*?)\\n```$", "gm");
  return [...markdown.matchAll(pattern)].map((m) => m[1]!);
}
