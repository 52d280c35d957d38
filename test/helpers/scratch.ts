import { accessSync, constants, mkdtempSync, statfsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** statfs's f_type of a tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

let parent: string | undefined;

/** /dev/shm when it is a tmpfs this process may write to, else the usual temporary folder. */
function scratchParent(): string {
  if (parent === undefined) {
    try {
      accessSync("/dev/shm", constants.W_OK);
      parent = statfsSync("/dev/shm").type === TMPFS_MAGIC ? "/dev/shm" : os.tmpdir();
    } catch {
      parent = os.tmpdir();
    }
  }
  return parent;
}

/**
 * A new, empty folder for trees that tests make and delete many times over (a fake VM's Jitsi directory,
 * backups), on a tmpfs where there is one. On ext4 (this machine's /tmp), creating files soon after deleting
 * thousands makes the kernel search its inode bitmaps for entries it may reuse (recently_deleted): it was
 * ~10% of the CPU of the backup and restore tests. Nothing under test depends on the file system: the
 * scripts see the same owners, modes, links and same-volume moves on tmpfs as on the VM's ext4 volume.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(scratchParent(), prefix));
}
