import { NAMESPACE, SETTINGS_DOCS } from "../../../config/schema";

/** The README's settings reference, generated from the schema's documentation so the two cannot drift. */
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

if (require.main === module) console.log(settingsTable());
