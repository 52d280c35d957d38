import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DOC_PAGES, readPage, ROOT } from "../helpers/docs";
import { headings, links } from "../helpers/markdown";

/** A page with this many sections or more opens with a table of contents. */
const TOC_FROM_SECTIONS = 3;

describe("the README and docs/ hold together", () => {
  it.each(DOC_PAGES)("every relative link in %s reaches a file, and its #anchor a heading there", (page) => {
    const broken = links(readPage(page))
      .filter((target) => !/^[a-z]+:/.test(target))
      .filter((target) => {
        const [file, anchor] = target.split("#") as [string, string | undefined];
        const resolved =
          file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (!existsSync(path.join(ROOT, resolved))) return true;
        if (anchor === undefined || !resolved.endsWith(".md")) return false;
        return !headings(readPage(resolved)).some((h) => h.slug === anchor);
      });
    expect(broken).toEqual([]);
  });

  it.each(DOC_PAGES)("%s, when it has several sections, lists them all in its contents, in order", (page) => {
    const text = readPage(page);
    const sections = headings(text).filter((h) => h.level === 2 && h.text !== "Contents");
    if (sections.length < TOC_FROM_SECTIONS) return;
    const beforeFirstSection = text.slice(
      0,
      text.search(new RegExp(`^## ${sections[0]!.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m")),
    );
    const listed = [...beforeFirstSection.matchAll(/^- \[[^\]]*\]\(#([^)]+)\)$/gm)].map((m) => m[1]!);
    expect(listed).toEqual(sections.map((h) => h.slug));
  });

  it.each(DOC_PAGES)("every repository path %s names in code spans exists", (page) => {
    // Top-level entries of the checkout, less what the tools write (paths under them are examples).
    const generated = new Set(["node_modules", "out", "backups", ".git", ".pulumi"]);
    const tops = new Set(readdirSync(ROOT).filter((name) => !generated.has(name)));
    const named = [...readPage(page).matchAll(/`([A-Za-z.][\w.-]*\/[\w./-]*)`/g)]
      .map((m) => m[1]!)
      .filter((p) => tops.has(p.split("/")[0]!));
    expect(named.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
  });

  it("the README links to every page under docs/", () => {
    const linked = new Set(links(readPage("README.md")).map((target) => target.split("#")[0]));
    expect(DOC_PAGES.filter((page) => page.startsWith("docs/") && !linked.has(page))).toEqual([]);
  });
});
