/**
 * RFC 1123 hostname with at least two labels, all lower case. Kept apart from fields.ts (zod) so
 * the token issuer's bundles can share the stack's rule without carrying zod.
 */
export const HOSTNAME_RE =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
