/**
 * `tonewall test-processor --cert FILE --key FILE --client-ca FILE [--port N] [--alg RSA-OAEP-256|ECDH-ES]
 *                          [--jwe-key FILE] [--public-key-out FILE] [--log-level LEVEL]`
 *
 * Runs the local test payment processor (controller/secure/test-processor.ts) on 127.0.0.1: HTTPS
 * with the given server certificate, client certificates required (signed by --client-ca), JWE
 * decrypted with --jwe-key (PKCS#8 PEM) or a key pair made at start. When listening it prints one
 * JSON line `{ "url", "port", "alg", "publicKeyPem" }` on stdout (and writes the public key to
 * --public-key-out), logs to stderr, and runs until SIGINT or SIGTERM.
 * Decision rules: docs/payments.md. Exit codes: 0 stopped by a signal, 1 failed to start, 2 bad usage.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { systemClock } from '../../../hw/base/clock';
import { errorMessage } from '../../../hw/base/errors';
import { createLogger, LOG_LEVELS, prettySink, type LogLevel } from '../../../hw/base/logger';
import { JWE_ALGORITHMS, type JweAlgorithm } from '../../secure/jwe-seal';
import { TestProcessor } from '../../secure/test-processor';

const USAGE =
  'usage: tonewall test-processor --cert FILE --key FILE --client-ca FILE [--port N] [--alg RSA-OAEP-256|ECDH-ES] [--jwe-key FILE] [--public-key-out FILE] [--log-level LEVEL]';

const VALUE_OPTIONS = ['--cert', '--key', '--client-ca', '--port', '--alg', '--jwe-key', '--public-key-out', '--log-level'] as const;
type Option = (typeof VALUE_OPTIONS)[number];

function parseArgs(argv: string[]): Partial<Record<Option, string>> | string {
  const out: Partial<Record<Option, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const opt = VALUE_OPTIONS.find((o) => o === a);
    if (!opt) return `unknown argument ${a}`;
    const v = argv[++i];
    if (v === undefined) return `${a} needs a value`;
    out[opt] = v;
  }
  for (const required of ['--cert', '--key', '--client-ca'] as const) if (!out[required]) return `${required} is required`;
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    console.error(`tonewall test-processor: ${args}\n${USAGE}`);
    return 2;
  }
  const alg = (args['--alg'] ?? 'RSA-OAEP-256') as JweAlgorithm;
  const port = Number(args['--port'] ?? '0');
  const level = (args['--log-level'] ?? 'info') as LogLevel;
  if (!JWE_ALGORITHMS.includes(alg) || !Number.isInteger(port) || port < 0 || port > 65535 || !LOG_LEVELS.includes(level)) {
    console.error(`tonewall test-processor: --alg must be one of ${JWE_ALGORITHMS.join(', ')}, --port 0–65535, --log-level one of ${LOG_LEVELS.join(', ')}\n${USAGE}`);
    return 2;
  }
  const logger = createLogger({ level, sinks: [prettySink(process.stderr)], module: 'tonewall' });
  let processor: TestProcessor;
  let listeningPort: number;
  try {
    const read = (f: string | undefined) => readFileSync(f ?? '');
    const jweKey = args['--jwe-key'];
    processor = new TestProcessor({
      tls: { cert: read(args['--cert']), key: read(args['--key']), clientCa: read(args['--client-ca']) },
      alg,
      clock: systemClock,
      logger,
      port,
      ...(jweKey ? { privateKey: createPrivateKey(readFileSync(jweKey)) } : {}),
    });
    listeningPort = await processor.start();
    const out = args['--public-key-out'];
    if (out) writeFileSync(out, processor.publicKeyPem, { mode: 0o644 });
  } catch (err) {
    console.error(`tonewall test-processor: ${errorMessage(err)}`);
    return 1;
  }
  // Signal handlers first: whoever reads the listening line may signal at once.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(JSON.stringify({ url: `https://127.0.0.1:${listeningPort}/payments`, port: listeningPort, alg, publicKeyPem: processor.publicKeyPem }));
  await stopped;
  await processor.stop();
  return 0;
}
