import { stringify } from "yaml";
import type { VmFile } from "./cloudInit";

/** Hetzner refuses user-data over 32 KiB. */
export const USER_DATA_LIMIT_BYTES = 32 * 1024;

/** Files every VM of the stack gets: SSH by key only, and unattended security upgrades. */
export const VM_BASE_FILES: readonly VmFile[] = [
  {
    path: "/etc/ssh/sshd_config.d/60-jitsi-stack.conf",
    content:
      "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
    permissions: "0644",
  },
  {
    path: "/etc/apt/apt.conf.d/20auto-upgrades",
    content: 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    permissions: "0644",
  },
];

/** cloud-config keys that make the VM present the SSH host key from Pulumi state, and no other. */
export function hostKeyConfig(hostKey: { privateKey: string; publicKey: string }) {
  return {
    ssh_pwauth: false,
    // cloud-init generates only missing key types: delete the image's keys, generate no new ones.
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey },
  };
}

/** The #cloud-config text of a document, refused when Hetzner would refuse it. */
export function cloudConfigText(doc: Record<string, unknown>): string {
  const text = "#cloud-config\n" + stringify(doc, { lineWidth: 0 });
  const size = Buffer.byteLength(text);
  if (size > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `cloud-init user-data is ${size} bytes; Hetzner accepts at most ${USER_DATA_LIMIT_BYTES}`,
    );
  }
  return text;
}
