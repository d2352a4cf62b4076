import { softwareVersion } from '../version';

export function run(): Promise<number> {
  console.log(`tonewall ${softwareVersion()} (node ${process.version}, ${process.platform}-${process.arch})`);
  return Promise.resolve(0);
}
