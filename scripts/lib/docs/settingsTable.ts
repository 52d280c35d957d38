import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { NAMESPACE, SETTINGS_DOCS } from "../../../config/schema";

/** The settings reference page; its table between the markers is generated. */
export const SETTINGS_PAGE = path.resolve(__dirname, "../../../docs/settings.md");
const MARKERS = /(<!-- settings:start -->\n)[\s\S]*?(\n<!-- settings:end -->)/;

/** The settings reference, generated from the schema's documentation so the two cannot drift. */
export function settingsTable(): string {
  const rows = Object.entries(SETTINGS_DOCS).map(([key, doc]) => {
    const cells = [
      `\`${NAMESPACE}:${key}\``,
      doc.default === undefined ? "**required**" : doc.default,
      `\`${doc.example}\``,
      doc.secret ? `${doc.doc} **Secret.**` : doc.doc,
    ];
    return `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  });
  return ["| Setting | Default | Example | What it does |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The page with its generated table replaced by the schema's; a page without the markers is refused. */
export function withSettingsTable(page: string): string {
  if (!MARKERS.test(page)) throw new Error(`${SETTINGS_PAGE} lacks the <!-- settings:start/end --> markers`);
  return page.replace(MARKERS, (_all, start: string, end: string) => `${start}${settingsTable()}${end}`);
}

// npm run docs:settings
if (require.main === module) {
  writeFileSync(SETTINGS_PAGE, withSettingsTable(readFileSync(SETTINGS_PAGE, "utf8")));
  console.log(`Wrote the settings table in ${path.relative(process.cwd(), SETTINGS_PAGE)}`);
}
