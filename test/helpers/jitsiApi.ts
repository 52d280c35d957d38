/**
 * Payloads of Jitsi's local HTTP APIs, shaped as the release's components render them, for the stand-ins
 * of the bridge, drain, verify and recorder tests. Sources, at the versions stable-11146-2's images install:
 * jitsi/jitsi-videobridge and jitsi/jicofo at tag stable/jitsi-meet_11146; jitsi/jibri at master 62369d55
 * (2026-08-05: jibri has no release tags; its health API last changed 2026-05-05).
 */

/**
 * jvb's `GET /colibri/stats` (jitsi-videobridge
 * jvb/src/main/kotlin/org/jitsi/videobridge/stats/VideobridgeStatisticsShim.kt:92-245): one flat object;
 * counts are JSON integers (Long gauges), `stress_level` a double, `drain` a boolean. A sample of its keys.
 */
export function jvbColibriStats(load: { participants: number; conferences: number; drain?: boolean }) {
  return {
    incoming_loss: 0,
    outgoing_loss: 0,
    overall_loss: 0,
    bit_rate_download: 412,
    bit_rate_upload: 1388,
    packet_rate_download: 96,
    packet_rate_upload: 301,
    rtt_aggregate: 23.5,
    octo_conferences: 0,
    inactive_conferences: 0,
    p2p_conferences: 0,
    endpoints: load.participants,
    participants: load.participants,
    receive_only_endpoints: 0,
    largest_conference: load.participants,
    total_conferences_created: 17,
    total_conferences_completed: 17 - load.conferences,
    total_participants: 58,
    stress_level: load.participants / 100,
    conferences: load.conferences,
    visitors: 0,
    local_endpoints: load.participants,
    total_bytes_received: 918_273_645,
    total_bytes_sent: 2_837_465_102,
    threads: 131,
    graceful_shutdown: false,
    shutting_down: false,
    drain: load.drain ?? false,
    current_timestamp: "2026-11-30 20:15:02.118",
    muc_clients_configured: 1,
    muc_clients_connected: 1,
    healthy: true,
    version: "2.3.262-g5c1e0ba7",
    average_participant_stress: 0.01,
  };
}

/**
 * One bridge in jicofo's `GET /debug`: `bridge_selector.bridge` is keyed by the bridge's brewery occupant
 * JID (jicofo jicofo-selector/src/main/kotlin/org/jitsi/jicofo/bridge/BridgeSelector.kt:236-246, the JID from
 * BridgeMucDetector.kt:49-50) and each value is Bridge.debugState (Bridge.kt:338-355). `region` and
 * `release` are toString() of nullable fields: the string "null" when the bridge reports none.
 */
export function jicofoDebugBridge(b: {
  version: string;
  region?: string;
  stress?: number;
  drain?: boolean;
  operational?: boolean;
  relayId?: string;
}) {
  const stress = b.stress ?? 0.05;
  return {
    "corrected-stress": stress,
    drain: b.drain ?? false,
    endpoints: 3,
    "endpoint-restart-requests": 0,
    "failing-ice": false,
    "graceful-shutdown": false,
    healthy: true,
    operational: b.operational ?? true,
    overloaded: false,
    region: b.region ?? "null",
    "relay-id": b.relayId ?? "null",
    release: "null",
    "shutting-down": false,
    stress,
    version: b.version,
  };
}

/** jicofo's `GET /debug` around the bridges (jicofo jicofo/src/main/kotlin/org/jitsi/jicofo/JicofoServices.kt:243-252). */
export function jicofoDebug(bridges: Record<string, ReturnType<typeof jicofoDebugBridge>>) {
  return {
    focus_manager: { conferences: {} },
    bridge_selector: { strategy: "RegionBasedBridgeSelectionStrategy", bridge: bridges },
    jibri_detector: null,
    sip_jibri_detector: null,
    jigasi_detector: null,
    av_moderation: {},
    conference_iq_handler: {},
  };
}

/**
 * Jibri's `GET /jibri/api/v1.0/health` on 127.0.0.1:2222 in its container, as ktor's Jackson writes it
 * (compact): JibriHealth { status: JibriStatus { busyStatus, health: OverallHealth { healthStatus, details } },
 * environmentContext? } (jibri src/main/kotlin/org/jitsi/jibri/health/JibriHealth.kt:29-41,
 * status/JibriStatusManager.kt:38-49, api/http/HttpApi.kt:88-97; environmentContext only while busy).
 */
export function jibriHealth(busy: "IDLE" | "BUSY" | "EXPIRED", health: "HEALTHY" | "UNHEALTHY"): string {
  return JSON.stringify({
    status: { busyStatus: busy, health: { healthStatus: health, details: {} } },
    ...(busy === "BUSY" ? { environmentContext: { name: "prod" } } : {}),
  });
}
