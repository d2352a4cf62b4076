/**
 * The `gpio` configuration slice (to be mounted in controller/config/schema.ts as
 * `gpio: gpioSchema.prefault({})`). Line numbers are the backend's numbers (sysfs global numbers
 * move between kernels: 6.12 puts QEMU virt's PL061 at 512-519), so they always come from here.
 * A line left out means the board does not have it.
 */
import { z } from 'zod';

const lineSchema = z
  .object({
    line: z.number().int().min(0).max(65535),
    activeLow: z.boolean().default(false),
  })
  .strict();

export const gpioSchema = z
  .object({
    enabled: z.boolean().default(false),
    backend: z.enum(['sysfs']).default('sysfs'),
    lines: z
      .object({
        /** Power-fail transfer relay: energised (1) = analog ports on tonewall; released = lifeline path. */
        transferRelay: lineSchema.optional(),
        ledPower: lineSchema.optional(),
        ledTrunkAlarm: lineSchema.optional(),
        ledSecure: lineSchema.optional(),
        /** Card reset: active = card held in reset. */
        cardReset: lineSchema.optional(),
        /** Front-panel button: active = pressed. */
        button: lineSchema.optional(),
        /** Tamper switch: active = enclosure open. */
        tamper: lineSchema.optional(),
      })
      .strict()
      .prefault({}),
    /** Relay drive: level (held at 1 while healthy) or pulse (toggled every relayPulseMs while healthy, for a charge-pump driver that drops out by itself when the toggling stops). */
    relayDrive: z.enum(['level', 'pulse']).default('level'),
    relayPulseMs: z.number().int().min(10).max(5000).default(250),
    /** Holding the button this long arms a factory reset. */
    longPressMs: z.number().int().min(1000).max(60000).default(5000),
    /** After arming, a short press within this window confirms; otherwise it is cancelled. */
    confirmWindowMs: z.number().int().min(1000).max(120000).default(10000),
    /** Edges closer than this to the previous one are contact bounce and ignored. */
    debounceMs: z.number().int().min(0).max(500).default(30),
    cardResetPulseMs: z.number().int().min(1).max(10000).default(100),
  })
  .strict();

export type GpioConfig = z.infer<typeof gpioSchema>;
export type GpioLineConfig = z.infer<typeof lineSchema>;
