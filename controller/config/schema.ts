/**
 * The one configuration schema of tonewall (STYLE.md): it is the type, the defaults and the
 * validation at once. `Config` is inferred from it; nothing keeps a hand-written twin.
 *
 * Every object is strict (an unknown key is an error, reported with a "did you mean" hint by
 * load.ts) and every leaf has a default, so `{}` is a complete configuration: the embedded demo
 * (simulated card, in-process MQTT broker, SQLite under ./var, demo contact-center endpoint).
 *
 * Each part receives only its slice (`config.sip`, `config.card`, …).
 */
import { z } from 'zod';
import { gpioSchema } from '../../hw/gpio/gpio-config';
import { otaSchema } from './ota-schema';

const port = z.number().int().min(0).max(65535);

export const logSchema = z
  .object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** pretty: one short line per record for a terminal; json: JSON lines (journald, files). */
    format: z.enum(['pretty', 'json', 'auto']).default('auto'),
    /** Also write JSON lines to this file (relative paths are under device.stateDir). */
    file: z.string().min(1).optional(),
  })
  .strict();

export const deviceSchema = z
  .object({
    /** Device id = MQTT client id = certificate CN = MQTT username (DESIGN.md §6). */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, 1-63 characters').default('tw-demo-0001'),
    /** Where the database and other state live. */
    stateDir: z.string().min(1).default('./var'),
    site: z.string().max(200).default(''),
  })
  .strict();

export const simSchema = z
  .object({
    /** Start the simulated card inside this process (the demo). */
    enabled: z.boolean().default(true),
    /** fxo4: 4 analog FXO ports; e1-pri / t1-pri: one ISDN PRI span, e1-pri-2 / e1-pri-4: two / four E1 spans (the simulator plays the network side). */
    model: z.enum(['fxo4', 'e1-pri', 'e1-pri-2', 'e1-pri-4', 't1-pri']).default('fxo4'),
    /** How the driver reaches the in-process simulator: a real pty (needs socat) or a unix socket. */
    transport: z.enum(['auto', 'pty', 'socket']).default('auto'),
    /** The scripted callers: 'demo' places a call every `callIntervalMs`; 'none' waits for commands. */
    script: z.enum(['demo', 'none']).default('demo'),
    callIntervalMs: z.number().int().min(1000).default(15000),
    callDurationMs: z.number().int().min(1000).default(8000),
    callerNumber: z.string().regex(/^\+?[0-9]{1,20}$/).default('5551234567'),
    callerName: z.string().max(15).default('TONEWALL DEMO'),
  })
  .strict();

export const cardSchema = z
  .object({
    /** serial: a tty (real card on /dev/ttyACM0, or a pty); socket: unix:/path or tcp:host:port. */
    transport: z.enum(['serial', 'socket']).default('serial'),
    /** Serial device path; empty with sim.enabled means "the simulator's pty". */
    path: z.string().default(''),
    /** UART speed: an E1 at full load needs ≥ 2.48 Mbaud (docs/card-link.md); USB CDC-ACM and ptys ignore it. */
    baudRate: z.number().int().positive().default(3000000),
    /** Socket address for transport=socket: unix:/run/tonewall/card.sock or tcp:127.0.0.1:7001. */
    socket: z.string().default(''),
    keepaliveMs: z.number().int().min(100).max(60000).default(1000),
    /** The link is declared down after this many keepalive intervals without a frame. */
    keepaliveMissLimit: z.number().int().min(2).max(20).default(3),
    reconnectMinMs: z.number().int().min(50).default(250),
    reconnectMaxMs: z.number().int().min(100).default(10000),
    sim: simSchema.prefault({}),
  })
  .strict();

/** One SIP trunk toward the contact center (docs/sip.md): tried in list order for outgoing calls. */
export const sipTrunkSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected 1-32 letters, digits, "_" or "-"'),
    /** Request-URI template: `{called}` is replaced by the called number; `;transport=tcp|tls` or sips: pick this trunk's transport (opened beside sip.transport). */
    uri: z.string().regex(/^sips?:/, 'expected a sip: or sips: URI'),
    /** Digest credentials (RFC 7616/8760) answered to 401/407 challenges from this trunk. */
    auth: z.object({ username: z.string().min(1), password: z.string().min(1), realm: z.string().optional() }).strict().optional(),
    register: z
      .object({
        enabled: z.boolean().default(false),
        expiresS: z.number().int().min(60).max(86400).default(3600),
        /** Failure backoff: doubles from retryMinS up to retryMaxS (RFC 5626 §4.5 style). */
        retryMinS: z.number().int().min(1).default(5),
        retryMaxS: z.number().int().min(1).default(300),
      })
      .strict()
      .prefault({}),
    /** OPTIONS keepalive interval; 0 = no probing, the trunk is always taken as up. */
    optionsIntervalS: z.number().int().min(0).max(3600).default(30),
    /** Hysteresis: consecutive OPTIONS failures to mark down / successes to mark up again. */
    downAfter: z.number().int().min(1).max(10).default(2),
    upAfter: z.number().int().min(1).max(10).default(2),
  })
  .strict();

/** SIP edge security (DESIGN.md §7, docs/sip.md): who may send requests, rate limits, bans. */
export const sipEdgeSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Requests from 127.0.0.0/8 and ::1 (the appliance itself: demo endpoint, local tools) are allowed. */
    allowLoopback: z.boolean().default(true),
    /** IPv4/IPv6 addresses or CIDRs allowed to send requests, besides the trunks' and contactCenterUri's literal addresses. */
    allow: z.array(z.string().regex(/^[0-9A-Fa-f.:]+(\/[0-9]{1,3})?$/, 'expected an IP address or CIDR')).default([]),
    /** Token bucket per allowed source: requests per second and burst. */
    peerRatePerS: z.number().min(1).default(500),
    peerBurst: z.number().int().min(1).default(1000),
    /** Requests from unknown sources are refused; more than unknownBurst of them within unknownWindowS bans the source. */
    unknownBurst: z.number().int().min(1).default(20),
    unknownWindowS: z.number().int().min(1).default(10),
    banS: z.number().int().min(1).default(3600),
    /** A rejection is logged once per source and reason per interval (then counted). */
    logIntervalS: z.number().int().min(1).default(60),
    /**
     * Digest authentication for sources outside the allow list (docs/sip.md "Edge"): their requests
     * are challenged 401 (RFC 3261 §22.4, RFC 8760) instead of dropped; a source that answers with
     * the credentials of a user below is admitted like a peer for sessionTtlS after its last
     * authenticated request; maxFailures wrong answers ban it for banS.
     */
    authenticateUnknown: z
      .object({
        enabled: z.boolean().default(false),
        realm: z.string().regex(/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/, 'expected printable ASCII without a quote at the ends').refine((r) => !/["\\]/.test(r), 'no quote or backslash').default('tonewall'),
        /** Offered in this order (RFC 8760 §2.4: strongest first). */
        algorithms: z.array(z.enum(['SHA-256', 'MD5'])).min(1).refine((l) => new Set(l).size === l.length, { message: 'each algorithm at most once' }).default(['SHA-256', 'MD5']),
        users: z
          .array(
            z
              .object({
                username: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'expected 1-64 printable ASCII characters').refine((u) => !/["\\]/.test(u), 'no quote or backslash'),
                /** The password, or a file holding it (first line; preferred: keeps it out of the config). */
                password: z.string().min(1).optional(),
                passwordFile: z.string().min(1).optional(),
              })
              .strict()
              .refine((u) => (u.password === undefined) !== (u.passwordFile === undefined), { message: 'give exactly one of password or passwordFile' }),
          )
          .default([]),
        /** A nonce older than this is stale (answered 401 stale=true, not counted as a failure). */
        nonceTtlS: z.number().int().min(10).max(3600).default(300),
        maxFailures: z.number().int().min(1).max(100).default(5),
        sessionTtlS: z.number().int().min(60).max(86400).default(3600),
      })
      .strict()
      .refine((a) => !a.enabled || a.users.length > 0, { message: 'enabled needs at least one user', path: ['users'] })
      .prefault({}),
  })
  .strict();

/** One SIP → PSTN routing rule (docs/sip-calls.md): match the called number, rewrite it, pick the trunk. */
export const sipRoutingRuleSchema = z
  .object({
    /** The called number starts with these digits ('' or absent with no regex: every number). */
    prefix: z.string().regex(/^[0-9*#+]*$/, 'expected digits, *, # or +').optional(),
    /** Or: a JavaScript regular expression the whole called number must match. */
    regex: z
      .string()
      .refine((r) => {
        try {
          new RegExp(r);
          return true;
        } catch {
          return false;
        }
      }, 'expected a valid regular expression')
      .optional(),
    /** Leading digits removed, then `prepend` put in front. */
    strip: z.number().int().min(0).max(32).default(0),
    prepend: z.string().regex(/^[0-9*#+]*$/, 'expected digits, *, # or +').default(''),
    /** PSTN trunk for the call (`port/N` FXO, `span/N` PRI, `cas/N` CAS); absent: the first trunk with a free channel. */
    trunk: z.string().regex(/^(port|span|cas)\/[0-9]+$/, 'expected port/N, span/N or cas/N').optional(),
  })
  .strict();

export const sipSchema = z
  .object({
    bindAddress: z.string().default('127.0.0.1'),
    /** 0 = pick a free port. */
    bindPort: port.default(5062),
    /** The address put in Via/Contact/SDP (defaults to bindAddress). */
    advertisedAddress: z.string().default(''),
    /** Where PSTN calls go: the contact center's SIP URI (user part replaced by the called number when `{called}` is used). */
    contactCenterUri: z.string().regex(/^sips?:/, 'expected a sip: or sips: URI').default('sip:{called}@127.0.0.1:5080'),
    /** The header carrying the appliance's call id in every INVITE, so the contact center can name the call. */
    callIdHeader: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/).default('X-Tonewall-Call-Id'),
    codecs: z.array(z.enum(['PCMU', 'PCMA'])).min(1).default(['PCMU', 'PCMA']),
    ptimeMs: z.union([z.literal(10), z.literal(20), z.literal(30)]).default(20),
    rtpPortMin: port.default(20000),
    rtpPortMax: port.default(20999),
    /**
     * SRTP with SDES keys (RFC 4568, docs/media.md): `off` plain RTP/AVP; `offer` offers RTP/SAVP
     * with a=crypto and accepts either in answers and offers; `require` refuses plain RTP.
     */
    srtp: z.enum(['off', 'offer', 'require']).default('off'),
    /**
     * SDES suites in order of preference: offered as crypto lines 1, 2, … (each with its own key)
     * and accepted in offers. AES_CM_128_HMAC_SHA1_32 shortens the SRTP tag to 32 bits (RFC 4568
     * §6.2.1; SRTCP keeps 80).
     */
    srtpSuites: z
      .array(z.enum(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']))
      .min(1)
      .refine((l) => new Set(l).size === l.length, { message: 'each suite at most once' })
      .default(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
    /** Adaptive downlink jitter buffer (docs/media.md): starting target, bounds of the target, ms. */
    jitter: z
      .object({ initialMs: z.number().int().min(10).max(500).default(40), minMs: z.number().int().min(10).max(500).default(20), maxMs: z.number().int().min(40).max(1000).default(200) })
      .strict()
      .prefault({}),
    userAgent: z.string().default('tonewall'),
    /** Answer-timeout for outgoing INVITEs (RFC 3261 Timer B is 64*T1 = 32 s). */
    inviteTimeoutMs: z.number().int().min(1000).default(32000),
    /** SIP → PSTN number manipulation, first match wins; empty: the Request-URI user is dialled as is. */
    routing: z.array(sipRoutingRuleSchema).default([]),
    /** Session timers (RFC 4028): the interval we ask for and the smallest we accept (Min-SE, ≥ 90 s by §5). */
    sessionTimer: z
      .object({ sessionExpiresS: z.number().int().min(90).max(86400).default(1800), minSeS: z.number().int().min(90).max(86400).default(90) })
      .strict()
      .prefault({}),
    /** Transport of the SIP user agent (RFC 3261 §18): udp, tcp, or tls (sips:, TLS 1.2+). */
    transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
    /** TLS files (PEM): caFile verifies peers; certFile/keyFile are our server and client certificate. */
    tls: z
      .object({ caFile: z.string().default(''), certFile: z.string().default(''), keyFile: z.string().default(''), verifyClient: z.boolean().default(false) })
      .strict()
      .prefault({}),
    /** RFC 5626 CRLF keepalive on TCP/TLS connections we open; 0 = off. */
    streamKeepaliveS: z.number().int().min(0).max(3600).default(0),
    /** Ordered trunks; empty = contactCenterUri as the one implicit trunk. */
    trunks: z.array(sipTrunkSchema).default([]),
    edge: sipEdgeSchema.prefault({}),
    /** The embedded demo contact center: a SIP endpoint in this process that answers every call. */
    demoEndpoint: z
      .object({
        enabled: z.boolean().default(true),
        bindAddress: z.string().default('127.0.0.1'),
        bindPort: port.default(5080),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const mqttSchema = z
  .object({
    /** Broker URL. With embeddedBroker.enabled and no explicit url, the embedded broker's address. */
    url: z.string().regex(/^(mqtts?|tcp|tls|ws|wss):\/\//, 'expected mqtt://, mqtts://, ws:// or wss://').default('mqtt://127.0.0.1:1883'),
    topicRoot: z.string().regex(/^[a-z0-9_/-]+$/).default('tonewall/v1'),
    username: z.string().optional(),
    password: z.string().optional(),
    keepaliveS: z.number().int().min(5).max(3600).default(30),
    willDelayS: z.number().int().min(0).max(300).default(15),
    /** Session expiry must be at least the will delay (DESIGN.md §6). */
    sessionExpiryS: z.number().int().min(0).default(300),
    reconnectMinMs: z.number().int().min(100).default(1000),
    reconnectMaxMs: z.number().int().min(1000).default(60000),
    tls: z
      .object({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    embeddedBroker: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: port.default(1883),
      })
      .strict()
      .prefault({}),
    /** The fleet's Ed25519 public key (PEM file): dangerous commands (reboot, forced restart) must be signed by it. */
    fleetPublicKeyFile: z.string().min(1).optional(),
    /** config/desired changing payment, masking, SIP security or broker keys must be signed by the fleet key; unset: on when fleetPublicKeyFile is set. */
    requireSignedConfig: z.boolean().optional(),
    /** Retained call snapshots expire after this long (covers a device that dies mid-call). */
    callSnapshotExpiryS: z.number().int().min(60).default(4 * 3600),
    /** Retained payment snapshots expire after this long (DESIGN.md §6: pay/{sessionId} with expiry). */
    paySnapshotExpiryS: z.number().int().min(60).default(15 * 60),
    /** `metrics` every this many seconds (QoS 0, message expiry twice this). Applied live from config/desired. */
    metricsIntervalS: z.number().int().min(5).max(3600).default(60),
    /** `health` is republished at least this often (s); a status change goes out at once (debounced). */
    healthIntervalS: z.number().int().min(10).max(3600).default(300),
    /** Health checks are sampled this often (s). */
    healthSampleS: z.number().int().min(1).max(300).default(5),
    /** At most one change-triggered `health` publish per this long (ms). */
    healthDebounceMs: z.number().int().min(0).max(60000).default(2000),
    /** `_fleet/rebirth`: republish after a random delay of 0 to this many seconds (a whole fleet must not answer at once). */
    rebirthJitterMaxS: z.number().int().min(0).max(600).default(10),
  })
  .strict();

export const storeSchema = z
  .object({
    /** Database file; relative paths are under device.stateDir. */
    path: z.string().min(1).default('tonewall.db'),
    /** The outbox refuses new events past this many unacknowledged rows (raising an alarm before). */
    outboxMaxRows: z.number().int().min(100).default(100000),
  })
  .strict();

export const pstnSchema = z
  .object({
    analog: z
      .object({
        /** The number each analog line represents, by port ("1": "100"); it becomes the INVITE's called number. */
        lineNumbers: z.record(z.string().regex(/^[1-9][0-9]{0,2}$/, 'a port number'), z.string().regex(/^[0-9*#+]{1,32}$/)).default({}),
        defaultLineNumber: z.string().regex(/^[0-9*#+]{1,32}$/).default('100'),
        /** No ring for this long while ringing means the caller gave up (longest cadence gap + margin). */
        ringTimeoutMs: z.number().int().min(1000).max(30000).default(8000),
        /** How caller ID arrives: decoded by the card ('card'), or as FSK in the line audio (Bell 202 / V.23; DTMF caller ID is heard too). */
        callerId: z.enum(['card', 'bell202', 'v23']).default('card'),
        /** Outward calls: the exchange's answer signal; 'none' counts a call answered once dialling is done (docs/pstn.md). */
        answerSupervision: z.enum(['none', 'battery-reversal']).default('none'),
        /** Outward calls: longest wait for dial tone after seizure; none heard → released with Q.850 34. */
        dialToneTimeoutMs: z.number().int().min(500).max(30000).default(3000),
        /** Outward calls under battery-reversal supervision: no answer within this → released with Q.850 19. */
        noAnswerTimeoutMs: z.number().int().min(5000).max(600000).default(60000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const paymentsProcessorSchema = z
  .object({
    /** 'test': the in-process test processor (demo); 'generic-jwe': a real processor endpoint. */
    kind: z.enum(['test', 'generic-jwe']).default('test'),
    url: z.string().regex(/^https:\/\/\S+$/, 'an https:// URL').optional(),
    alg: z.enum(['RSA-OAEP-256', 'ECDH-ES']).default('RSA-OAEP-256'),
    publicKeyFile: z.string().min(1).optional(),
    keyId: z.string().max(128).optional(),
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    serverCertSha256: z.string().regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, 'SHA-256 fingerprint AB:CD:… (32 bytes)').optional(),
    timeoutMs: z.number().int().min(1000).max(120000).default(15000),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.kind !== 'generic-jwe') return;
    for (const k of ['url', 'publicKeyFile', 'caFile', 'certFile', 'keyFile'] as const) {
      if (p[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'is required when kind is "generic-jwe"' });
    }
  });

/** Secure payment sessions (docs/payments.md): field rules, timeouts, the processor connector. */
export const paymentsSchema = z
  .object({
    enabled: z.boolean().default(true),
    clearKey: z.enum(['star', 'hash', 'none']).default('star'),
    endKey: z.enum(['star', 'hash', 'none']).default('hash'),
    /** BIN digits shown to the agent once the card number is complete (PCI DSS 3.4.1): 0, 6 or 8. */
    binDigits: z.union([z.literal(0), z.literal(6), z.literal(8)]).default(0),
    /** Fixed postcode length (5 for US ZIP); unset: 3–10 digits ended by the end key. */
    postcodeLength: z.number().int().min(3).max(10).optional(),
    maxAttemptsPerField: z.number().int().min(1).max(10).default(3),
    fieldTimeoutMs: z.number().int().min(1000).max(600000).default(30000),
    sessionTimeoutMs: z.number().int().min(5000).max(3600000).default(300000),
    /** Comfort noise on the whole uplink while the security code is keyed. */
    blankDuringSecurityCode: z.boolean().default(false),
    /** After a masking fault the uplink stays muted this long after the error result (ms; 0: none). */
    faultHoldMs: z.number().int().min(0).max(60000).default(5000),
    rememberRequests: z.number().int().min(1).max(100000).default(256),
    processor: paymentsProcessorSchema.prefault({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.clearKey !== 'none' && p.clearKey === p.endKey) ctx.addIssue({ code: 'custom', path: ['endKey'], message: `must differ from clearKey (${p.clearKey})` });
  });

export const configSchema = z
  .object({
    device: deviceSchema.prefault({}),
    log: logSchema.prefault({}),
    card: cardSchema.prefault({}),
    pstn: pstnSchema.prefault({}),
    sip: sipSchema.prefault({}),
    mqtt: mqttSchema.prefault({}),
    store: storeSchema.prefault({}),
    payments: paymentsSchema.prefault({}),
    /** Board I/O (hw/gpio): transfer relay, LEDs, card reset, button, tamper; off unless the board has them. */
    gpio: gpioSchema.prefault({}),
    /** Application updates from the fleet (ota/job → ota/state, docs/mqtt/ota.md). */
    ota: otaSchema.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mqtt.sessionExpiryS < c.mqtt.willDelayS) {
      ctx.addIssue({ code: 'custom', path: ['mqtt', 'sessionExpiryS'], message: `must be at least mqtt.willDelayS (${c.mqtt.willDelayS}) so the will can fire` });
    }
    if (c.sip.rtpPortMax < c.sip.rtpPortMin + 1) {
      ctx.addIssue({ code: 'custom', path: ['sip', 'rtpPortMax'], message: `must be above sip.rtpPortMin (${c.sip.rtpPortMin})` });
    }
    if (c.card.transport === 'socket' && !c.card.socket && !c.card.sim.enabled) {
      ctx.addIssue({ code: 'custom', path: ['card', 'socket'], message: 'is required when card.transport is "socket" and the simulator is off' });
    }
    if (c.card.transport === 'serial' && !c.card.path && !c.card.sim.enabled) {
      ctx.addIssue({ code: 'custom', path: ['card', 'path'], message: 'is required when card.transport is "serial" and the simulator is off (e.g. /dev/ttyACM0)' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type CardConfig = Config['card'];
export type SimConfig = Config['card']['sim'];
export type SipConfig = Config['sip'];
export type SipTrunkConfig = SipConfig['trunks'][number];
export type SipEdgeConfig = SipConfig['edge'];
export type PstnConfig = Config['pstn'];
export type MqttConfig = Config['mqtt'];
export type StoreConfig = Config['store'];
export type LogConfig = Config['log'];
export type DeviceConfig = Config['device'];
export type PaymentsConfig = Config['payments'];
export type { OtaConfig } from './ota-schema';
