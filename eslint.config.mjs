import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Names that hold API keys or bearer tokens in the issuer's sign-in code. */
const SECRET = "/key|secret|presented|token|credential|bearer/i";
/**
 * A plain comparison stops at the first byte that differs, so its time tells a guesser how much of
 * a key is right: API keys are compared with keysEqual (issuer/apiKeys.ts) only. These selectors
 * catch `===`/`!==`, lookups that compare (`includes`, `Map#get`, ...) and `switch` on a secret;
 * test/issuer/apiKeys.test.ts shows each of them firing.
 */
const PLAIN_SECRET_COMPARISONS = [
  `BinaryExpression[operator=/^[=!]==?$/] > Identifier[name=${SECRET}]`,
  `BinaryExpression[operator=/^[=!]==?$/] > MemberExpression[property.name=${SECRET}]`,
  `CallExpression[callee.property.name=/^(includes|indexOf|lastIndexOf|has|get|startsWith|endsWith|localeCompare|compare|equals)$/] > Identifier[name=${SECRET}]`,
  `CallExpression[callee.property.name=/^(includes|indexOf|lastIndexOf|has|get|startsWith|endsWith|localeCompare|compare|equals)$/] > MemberExpression[property.name=${SECRET}]`,
  `SwitchStatement > Identifier.discriminant[name=${SECRET}]`,
].map((selector) => ({
  selector,
  message: "Compare API keys with keysEqual (issuer/apiKeys.ts): a plain comparison leaks timing.",
}));

export default tseslint.config(
  { ignores: ["node_modules/", "out/", "backups/", "dist/", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  {
    files: ["issuer/auth.ts", "issuer/apiKeys.ts"],
    rules: { "no-restricted-syntax": ["error", ...PLAIN_SECRET_COMPARISONS] },
  },
);
