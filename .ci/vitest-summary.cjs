// Prints vitest's JSON report as the plain closing line CI reads: "vitest: N passed, N failed, N skipped".
"use strict";
const report = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
