/**
 * `ota`: application updates from the fleet (`ota/job` → `ota/state`, docs/mqtt/ota.md). Restart-only
 * keys; a change over `config/desired` needs the fleet key's signature (SIGNED_CONFIG_KEYS): where
 * bundles come from and whom the download trusts decide what code runs.
 */
import { z } from 'zod';

export const otaSchema = z
  .object({
    /** Take `ota/job` at all. Off: jobs are answered `rejected` ("updates are disabled"). */
    enabled: z.boolean().default(true),
    /** Slots, downloads and the pending-commit record; relative paths are under device.stateDir. */
    root: z.string().min(1).default('ota'),
    /** The factory slot: the controller tree the image ships (read-only); slot "factory". */
    factoryDir: z.string().min(1).optional(),
    /** PEM CA bundle the artifact's HTTPS server must chain to; unset: the system trust store. */
    caFile: z.string().min(1).optional(),
    /** Largest artifact accepted (bytes), whatever the job says. */
    maxBundleBytes: z.number().int().min(1024).max(4 * 1024 * 1024 * 1024).default(512 * 1024 * 1024),
    /** How often the drain and health-gate checks run (ms). */
    pollMs: z.number().int().min(50).max(60000).default(1000),
    /** Download stall: no byte for this long fails the job (s). */
    downloadIdleTimeoutS: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

export type OtaConfig = z.infer<typeof otaSchema>;
