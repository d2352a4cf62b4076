/**
 * The last-line guard of DESIGN.md §7: a text that carries something shaped like a card number is
 * refused by the logger and by the MQTT publish path. Card data is kept out of loggable values by
 * type (secure/ holds it in Buffers with no string form); this scan only catches a mistake.
 *
 * What counts as card-like: a run of 13–19 digits, optionally grouped by single spaces or dashes
 * ("4111 1111 1111 1111", "4111-1111-…"), that passes the Luhn check; and any run of more than
 * 19 digits, which could hide a card number inside it and has no business in a log line or payload.
 */

export interface CardLikeRun {
  /** Index of the run's first character in the scanned text. */
  start: number;
  /** Number of digits in the run (separators not counted). */
  digits: number;
  reason: 'luhn-valid' | 'overlong-digit-run';
}

const MIN_PAN_DIGITS = 13;
const MAX_PAN_DIGITS = 19;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Luhn (ISO/IEC 7812-1 Annex B) over an array of digit values. */
export function luhnValid(digits: ArrayLike<number>): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits[i] ?? 0;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** RFC 9562 UUIDs (call ids, event ids, boot ids) are identifiers, not digit runs. */
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Returns the first card-like run in `text`, or undefined. Linear in the text length.
 * Exact UUIDs are skipped: their dash-grouped hex often has all-digit groups that would otherwise
 * read as a grouped digit run (about 1 in 400 random UUIDs).
 */
export function findCardLikeRun(input: string): CardLikeRun | undefined {
  const text = input.includes('-') ? input.replace(UUID_RE, (u) => 'u'.repeat(u.length)) : input;
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    const digits: number[] = [];
    while (i < n) {
      const c = text.charCodeAt(i);
      if (isDigit(c)) {
        digits.push(c - 48);
        i++;
        continue;
      }
      // A single space or dash between digits continues the run ("4111 1111 …").
      const sep = c === 32 || c === 45;
      if (sep && i + 1 < n && isDigit(text.charCodeAt(i + 1)) && isDigit(text.charCodeAt(i - 1))) {
        i++;
        continue;
      }
      break;
    }
    if (digits.length > MAX_PAN_DIGITS) return { start, digits: digits.length, reason: 'overlong-digit-run' };
    if (digits.length >= MIN_PAN_DIGITS && luhnValid(digits)) return { start, digits: digits.length, reason: 'luhn-valid' };
  }
  return undefined;
}
