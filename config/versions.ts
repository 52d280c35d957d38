/** Versions this project pins. Changing one is a reviewed change with its own commit. */

/** The docker-jitsi-meet release, pinned by tag and by the commit that tag must resolve to. */
export const JITSI_RELEASE = {
  tag: "stable-11146-2",
  commit: "738058b44bc3029ea289bea180cd3838f702af8e",
  repository: "https://github.com/jitsi/docker-jitsi-meet.git",
} as const;

/** Hetzner images the cloud-init document is written for (Docker and compose v2 come from Ubuntu's archive). */
export const SUPPORTED_IMAGES = ["ubuntu-24.04", "ubuntu-22.04"] as const;

/** Hetzner Cloud locations. */
export const HETZNER_LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;
export type HetznerLocation = (typeof HETZNER_LOCATIONS)[number];

/**
 * The network zone of each location. A Hetzner network, and every subnet in it, belongs to one network
 * zone, and only servers of that zone's locations can join it (docs.hetzner.com/cloud/networks/faq,
 * "Can Networks span multiple locations?", 2024-12-11).
 */
export const HETZNER_NETWORK_ZONES: Record<HetznerLocation, string> = {
  fsn1: "eu-central",
  nbg1: "eu-central",
  hel1: "eu-central",
  ash: "us-east",
  hil: "us-west",
  sin: "ap-southeast",
};

/** Where the compose project lives on the VM; backup, restore and verify rely on these paths. */
export const VM_LAYOUT = {
  /** The docker-jitsi-meet checkout, with `.env` beside its compose files. */
  jitsiDir: "/opt/jitsi",
  /**
   * Mount point of the Hetzner Volume that holds the stack's state, so a replaced server keeps its
   * certificate, ACME account and Prosody data. `configDir` lives inside it, never at the mount point
   * itself, so a restore can stage beside it on the same filesystem and swap by rename.
   */
  stateDir: "/opt/jitsi/state",
  /** `CONFIG` in `.env`: every directory the containers mount, including Let's Encrypt state. */
  configDir: "/opt/jitsi/state/config",
  /**
   * Files the settings decide inside `configDir` (the issuer's nginx location): cloud-init writes them
   * here, outside the volume, and the install step copies them in once the volume is mounted.
   */
  managedConfigDir: "/opt/jitsi/managed-config",
  /** JSON file with the release tag and commit that the checkout was verified against. */
  releaseFile: "/opt/jitsi/.jitsi-stack-release.json",
  /** systemd unit that runs `docker compose up`/`down` in jitsiDir. */
  service: "jitsi-meet.service",
  /** Hetzner's Ubuntu images log in as root with the injected SSH keys. */
  sshUser: "root",
} as const;

/**
 * Directories under CONFIG that the release's compose files mount (docker-compose.yml, jibri.yml,
 * jigasi.yml). Containers run as uid 1000 with read-only root filesystems and exit when one is missing
 * or not writable, so the VM creates each one, owned by 1000, before `docker compose up`.
 */
export const CONFIG_MOUNT_DIRS = [
  "web",
  "web/nginx-custom",
  "prosody/config",
  "prosody/prosody-plugins-custom",
  "jicofo",
  "jvb",
  "jigasi",
  "jibri",
  "transcripts",
  "storage/web",
  "storage/prosody",
  "storage/transcripts",
  "storage/jibri",
  "tmp/web-load-test",
] as const;

/** The uid and gid the docker-jitsi-meet containers run as. */
export const CONTAINER_UID = 1000;

/**
 * Official Node.js image for the token issuer when it runs on the VM (`jitsi:issuerTarget host`).
 * Node 24 is in active LTS until October 2026, then maintenance until April 2028; bump deliberately,
 * checking the tag exists.
 */
export const ISSUER_NODE_IMAGE = "node:24.11.1-alpine3.22";

/**
 * The private network that later bridges and other hosts of the stack join. Prosody does not
 * rate-limit connections from it (PROSODY_RATE_LIMIT_ALLOW_RANGES).
 */
export const PRIVATE_NETWORK_CIDR = "10.0.0.0/16";

/**
 * Where dockerd puts a compose network that names no subnet, as the release's `meet.jitsi` network
 * does: its default address pools (172.17-31.x.x in /16s, then 192.168.x.x in /20s). Prosody trusts
 * the web container's X-Forwarded-For from these, and does not rate-limit jicofo and jvb there.
 */
export const DOCKER_DEFAULT_POOLS = ["172.16.0.0/12", "192.168.0.0/16"] as const;

/**
 * coturn on the TURN VM: Ubuntu 24.04's package, held at this upstream version by an apt pin (Ubuntu's
 * security rebuilds of it still apply). The tests run Debian 12's build of the same upstream version.
 */
export const COTURN = { version: "4.6.1", image: "ubuntu-24.04" } as const;

/** Where the TURN VM keeps its files; the certbot deploy hook and the coturn unit agree on these. */
export const TURN_VM_LAYOUT = {
  /** coturn's configuration, kept apart from the package's /etc/turnserver.conf (an open relay). */
  configFile: "/etc/jitsi-stack/coturn.conf",
  /** The Let's Encrypt certificate as coturn's user may read it, copied there by the deploy hook. */
  certDir: "/etc/jitsi-stack/coturn-certs",
  /** Runs the first-boot setup until it succeeds. */
  setupUnit: "jitsi-stack-turn.service",
  setupScript: "/usr/local/sbin/jitsi-stack-turn-setup",
  deployHook: "/usr/local/sbin/jitsi-stack-turn-deploy-cert",
  /** Drop-in that points Ubuntu's coturn.service at the files above. */
  coturnDropIn: "/etc/systemd/system/coturn.service.d/jitsi-stack.conf",
  aptPin: "/etc/apt/preferences.d/jitsi-stack-coturn",
} as const;
