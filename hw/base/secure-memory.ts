/**
 * Memory for card data (DESIGN.md §7): one private arena, locked out of swap (mlock(2)) when the
 * native addon is present, carved into fixed-size slots. Captured digits and the plaintext of a
 * payment request live in slots; a released slot is wiped (explicit_bzero through the addon, else
 * `fill(0)`) before it can be handed out again.
 *
 * Why an arena: mlock works on whole pages and is not counted per caller, so locking and unlocking
 * many small Buffers would unlock a page another live Buffer still needs. The arena is locked once
 * and stays locked for the life of the process.
 *
 * Without the addon (`useSecureMemory(undefined)`, tests, a development machine) the same arena is
 * used unlocked and wiped with `fill(0)`; `secureMemoryStatus()` says which, for `health`.
 * When every slot is taken, `secureAlloc` falls back to a plain `Buffer.alloc` (still wiped on
 * release) and counts it.
 */

/** What the native addon offers (firmware/native/loader.ts `NativeAddon`, structurally). */
export interface SecureMemoryBackend {
  mlock(buf: Buffer): void;
  wipe(buf: Buffer): void;
}

export interface SecureMemoryStatus {
  /** `native`: arena locked with mlock and wiped with explicit_bzero; `js`: unlocked, fill(0). */
  backend: 'native' | 'js';
  locked: boolean;
  /** Why the lock failed (RLIMIT_MEMLOCK, …), when it did. */
  lockError?: string;
  arenaBytes: number;
  slotBytes: number;
  slotsInUse: number;
  /** Allocations that did not fit a slot (too big, or arena full): plain Buffer.alloc. */
  fallbacks: number;
}

/** Slot size: a card number (19), expiry, security code, postcode and a JWE plaintext fit. */
export const SECURE_SLOT_BYTES = 512;
const SLOTS = 128;

class Arena {
  readonly buf = Buffer.alloc(SECURE_SLOT_BYTES * SLOTS);
  private readonly free: number[] = [];
  private readonly owned = new WeakMap<Buffer, number>();
  backend: SecureMemoryBackend | undefined;
  locked = false;
  lockError: string | undefined;
  fallbacks = 0;

  constructor() {
    for (let i = SLOTS - 1; i >= 0; i--) this.free.push(i);
  }

  get inUse(): number {
    return SLOTS - this.free.length;
  }

  alloc(size: number): Buffer {
    const slot = size <= SECURE_SLOT_BYTES ? this.free.pop() : undefined;
    if (slot === undefined) {
      this.fallbacks++;
      return Buffer.alloc(size);
    }
    const b = this.buf.subarray(slot * SECURE_SLOT_BYTES, slot * SECURE_SLOT_BYTES + size);
    this.owned.set(b, slot);
    return b;
  }

  wipe(b: Buffer): void {
    if (this.backend) this.backend.wipe(b);
    else b.fill(0);
  }

  release(b: Buffer): void {
    this.wipe(b);
    const slot = this.owned.get(b);
    if (slot === undefined) return;
    this.owned.delete(b);
    this.free.push(slot);
  }
}

const arena = new Arena();

/**
 * Installs the native addon (or removes it with `undefined`): the arena is locked now. Returns the
 * status; a failed lock is reported there, never thrown (the appliance runs, `health` says so).
 */
export function useSecureMemory(backend: SecureMemoryBackend | undefined): SecureMemoryStatus {
  arena.backend = backend;
  arena.locked = false;
  arena.lockError = undefined;
  if (backend) {
    try {
      backend.mlock(arena.buf);
      arena.locked = true;
    } catch (err) {
      arena.lockError = err instanceof Error ? err.message : String(err);
    }
  }
  return secureMemoryStatus();
}

/** A zeroed Buffer of `size` bytes for card data; give it back with `secureRelease`. */
export function secureAlloc(size: number): Buffer {
  return arena.alloc(size);
}

/** Zeroes `buf` (explicit_bzero with the addon) and keeps it. */
export function secureWipe(buf: Buffer): void {
  arena.wipe(buf);
}

/** Zeroes `buf` and returns its slot to the arena; the caller must not use it afterwards. */
export function secureRelease(buf: Buffer): void {
  arena.release(buf);
}

export function secureMemoryStatus(): SecureMemoryStatus {
  return {
    backend: arena.backend ? 'native' : 'js',
    locked: arena.locked,
    ...(arena.lockError !== undefined ? { lockError: arena.lockError } : {}),
    arenaBytes: arena.buf.length,
    slotBytes: SECURE_SLOT_BYTES,
    slotsInUse: arena.inUse,
    fallbacks: arena.fallbacks,
  };
}
