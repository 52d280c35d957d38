import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { which } from "../helpers/command";

/** The packages listed in system-packages.txt, without comments or blank lines. */
export function requiredPackages(): string[] {
  const list = readFileSync(path.join(__dirname, "system-packages.txt"), "utf8");
  return list
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
}

function isInstalled(pkg: string): boolean {
  try {
    const status = execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    return status.toString().includes("install ok installed");
  } catch {
    return false;
  }
}

/**
 * Tests use real validators and peers (cloud-init, shellcheck, OpenSSH, Prosody, PyJWT), so a fresh
 * machine gets them installed here; without root or apt the run stops and names what is missing.
 */
export default function setup(): void {
  const missing = requiredPackages().filter((pkg) => !isInstalled(pkg));
  if (missing.length === 0) return;
  const canInstall = process.getuid?.() === 0 && !!which("apt-get");
  if (!canInstall) {
    throw new Error(
      `The tests need these Debian packages: ${missing.join(" ")}. Install them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
  }
  console.log(`Installing test tools: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env,
  });
}
