/**
 * Parameter schemas of the fleet commands (DESIGN.md §6 commands v1; docs/mqtt/rpc.md), in one
 * place so the device validates with them and scripts/mqtt-schemas.ts publishes them as JSON Schema
 * (`docs/mqtt/schemas/rpc-request.{method}.schema.json`). Every object is strict.
 *
 * `pay.*` parameters are checked by controller/secure (pay-commands.ts) and documented in
 * docs/payments.md: here they are any object.
 */
import { z } from 'zod';

export const noParams = z.strictObject({});
const reason = z.string().min(1).max(200).optional();

export const RPC_PARAMS = {
  ping: noParams,
  get_info: noParams,
  rebirth: noParams,
  set_log_level: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']) }),
  drain: noParams,
  undrain: noParams,
  'call.hangup': z.strictObject({ callId: z.string().min(1).max(64), q850: z.number().int().min(1).max(127).default(16) }),
  /** Loop a span back on the card for `durationS` (then it returns to normal by itself); mode off ends it now. */
  'span.loopback': z.strictObject({
    span: z.number().int().min(1).max(64),
    mode: z.enum(['line', 'payload', 'local', 'off']),
    durationS: z.number().int().min(1).max(3600).default(60),
  }),
  /**
   * Restart the service. Drained (default): new calls are refused and the restart waits for the
   * active calls to end, at most `timeoutS`; if calls remain then, the restart is abandoned and the
   * appliance undrained. `force: true` restarts now, dropping calls: it must be signed.
   */
  restart: z.strictObject({ force: z.boolean().default(false), timeoutS: z.number().int().min(1).max(3600).default(300), reason }),
  /** Reboot the board now (signed). */
  reboot: z.strictObject({ reason }),
  /** Redacted configuration, versions, health, the last `logLines` log lines and store figures, inline. */
  collect_diagnostics: z.strictObject({ logLines: z.number().int().min(0).max(1000).default(200) }),
  /** Wipe the state directory and start from the shipped configuration (signed). */
  factory_reset: z.strictObject({ reason }),
  'pay.start': z.record(z.string(), z.unknown()),
  'pay.cancel': z.record(z.string(), z.unknown()),
  'pay.clear_field': z.record(z.string(), z.unknown()),
  'pay.status': z.record(z.string(), z.unknown()),
} as const;
export type RpcMethodName = keyof typeof RPC_PARAMS;
export type RpcParams<M extends RpcMethodName> = z.output<(typeof RPC_PARAMS)[M]>;

/** Methods that need the fleet-key signature: always, or (restart) only when forced. */
export const DANGEROUS: Partial<Record<RpcMethodName, true | ((params: Record<string, unknown> | undefined) => boolean)>> = {
  reboot: true,
  factory_reset: true,
  restart: (params) => params?.['force'] === true,
};
