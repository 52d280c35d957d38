// Loads the program the way the Pulumi CLI's Node.js host does (node_modules/@pulumi/pulumi/cmd/run/run.js):
// ts-node registered with Pulumi's own helpers and compiler options, type-checking on (its default),
// CommonJS, and the entry point named by Pulumi.yaml's `main`. The engine is Pulumi's mock monitor.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { parse } = require("yaml");
const tsutils = require("@pulumi/pulumi/tsutils");

const root = process.cwd();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: "tsconfig.json",
  skipProject: false,
  compilerOptions: {
    target: "ES2020",
    module: "nodenext",
    moduleResolution: "nodenext",
    sourceMap: "true",
    ...compilerOptions,
  },
});

const pulumi = require("@pulumi/pulumi");
const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
const stack = process.argv[2] || "dev";
const config = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")).config;
const types = [];
pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      types.push(args.type);
      return {
        id: `${args.name}-id`,
        state: {
          ...args.inputs,
          ipAddress: "203.0.113.10",
          ipNetwork: "2001:db8::/64",
          result: "mock-secret-value-0123456789abcdef",
          publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n",
          privateKeyOpenssh: "mock-private-key",
        },
      };
    },
    call: (args) => args.inputs,
  },
  project.name,
  stack,
  false,
);
pulumi.runtime.setAllConfig(
  Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  ),
  [],
);
const exported = require(path.join(root, project.main));
// Every registration done, as the CLI waits for them before it disconnects (no fixed delay to wait out).
require("@pulumi/pulumi/runtime/settings.js")
  .waitForRPCs()
  .then(() => {
    process.stdout.write(JSON.stringify({ outputs: Object.keys(exported).sort(), types }) + "\n");
  });
