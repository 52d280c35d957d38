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

/**
 * cloud-config keys for SSH: root logs in with the operators' keys only (Hetzner's images log in as
 * root; not Hetzner project keys: see JitsiHost), and the VM presents the host key from Pulumi state.
 */
export function sshConfig(
  operatorKeys: readonly string[],
  hostKey: { privateKey: string; publicKey: string },
) {
  return {
    ssh_pwauth: false,
    disable_root: false,
    ssh_authorized_keys: [...operatorKeys],
    // Replace the image's host keys with the one from Pulumi state (cloud-init generates only missing types).
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
