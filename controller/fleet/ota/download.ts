/**
 * The artifact download (docs/mqtt/ota.md): HTTPS GET only, the server verified against `ca`
 * (ota.caFile) or the system trust, no redirects to anything but https, at most `size` bytes (the
 * job's figure, itself capped by ota.maxBundleBytes), sha256 computed on the way. A stall of
 * `idleTimeoutMs` without a byte fails the download. The file is fsynced before it is handed on.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { request } from 'node:https';
import { TonewallError, errorMessage } from '../../../hw/base/errors';

export interface DownloadOptions {
  url: string;
  file: string;
  /** Exact size expected (bytes). */
  size: number;
  /** PEM CA bundle; undefined: the system trust store. */
  ca?: string | undefined;
  idleTimeoutMs: number;
  /** Called with the percentage received, at most once per whole percent. */
  onProgress?: (pct: number) => void;
  signal?: AbortSignal;
  maxRedirects?: number;
}

export interface Downloaded {
  bytes: number;
  sha256: string;
}

export type Downloader = (o: DownloadOptions) => Promise<Downloaded>;

export const httpsDownload: Downloader = (o) => fetchOnce(o, o.url, o.maxRedirects ?? 3);

function fetchOnce(o: DownloadOptions, url: string, redirectsLeft: number): Promise<Downloaded> {
  return new Promise<Downloaded>((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new TonewallError('EOTA_DOWNLOAD', 'artifact URL is not a URL'));
      return;
    }
    if (parsed.protocol !== 'https:') {
      reject(new TonewallError('EOTA_DOWNLOAD', `artifact URL scheme ${parsed.protocol} is not https:`));
      return;
    }
    const where = `${parsed.host}${parsed.pathname.slice(0, 80)}`;
    const req = request(parsed, { method: 'GET', ...(o.ca ? { ca: o.ca } : {}), rejectUnauthorized: true, ...(o.signal ? { signal: o.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new TonewallError('EOTA_DOWNLOAD', `artifact download from ${where} redirected too many times`));
          return;
        }
        fetchOnce(o, new URL(res.headers.location, parsed).toString(), redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new TonewallError('EOTA_DOWNLOAD', `artifact download from ${where} answered HTTP ${status}; expected 200`));
        return;
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared !== o.size) {
        res.destroy();
        reject(new TonewallError('EOTA_DOWNLOAD', `artifact at ${where} is ${declared} bytes; the job says ${o.size}`));
        return;
      }
      let fd: number;
      try {
        fd = openSync(o.file, 'w', 0o600);
      } catch (err) {
        res.destroy();
        reject(new TonewallError('EOTA_DOWNLOAD', `cannot write ${o.file}: ${errorMessage(err)}`));
        return;
      }
      const hash = createHash('sha256');
      let bytes = 0;
      let lastPct = -1;
      let settled = false;
      const fail = (e: TonewallError): void => {
        if (settled) return;
        settled = true;
        res.destroy();
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
        rmSync(o.file, { force: true });
        reject(e);
      };
      res.setTimeout(o.idleTimeoutMs, () => fail(new TonewallError('EOTA_DOWNLOAD', `artifact download from ${where} stalled: no data for ${o.idleTimeoutMs} ms`)));
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        bytes += chunk.length;
        if (bytes > o.size) {
          fail(new TonewallError('EOTA_DOWNLOAD', `artifact at ${where} is larger than the job's ${o.size} bytes`));
          return;
        }
        writeSync(fd, chunk);
        hash.update(chunk);
        const pct = Math.floor((bytes * 100) / o.size);
        if (pct !== lastPct) {
          lastPct = pct;
          o.onProgress?.(pct);
        }
      });
      res.on('error', (err) => fail(new TonewallError('EOTA_DOWNLOAD', `artifact download from ${where} failed: ${errorMessage(err)}`)));
      res.on('end', () => {
        if (settled) return;
        if (bytes !== o.size) {
          fail(new TonewallError('EOTA_DOWNLOAD', `artifact at ${where} ended after ${bytes} bytes; the job says ${o.size}`));
          return;
        }
        settled = true;
        fsyncSync(fd);
        closeSync(fd);
        resolve({ bytes, sha256: hash.digest('hex') });
      });
    });
    req.on('error', (err) => reject(new TonewallError('EOTA_DOWNLOAD', `artifact download from ${where} failed: ${errorMessage(err)}`)));
    req.end();
  });
}
