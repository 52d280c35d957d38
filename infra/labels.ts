import type { Settings } from "../config/schema";

/** Labels on every Hetzner resource: find a stack's resources, and let policies read intent. */
export function resourceLabels(settings: Settings): Record<string, string> {
  return { app: "jitsi-stack", stack: settings.stack, environment: settings.environment };
}
