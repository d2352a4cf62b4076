/**
 * Built-in commands that need nothing from the application (DESIGN.md §6 commands v1):
 *  - `ping` → `{ pong: true, ts }` (ts: device time, ms epoch);
 *  - `get_info` → the `info` birth record;
 *  - `rebirth` → republishes status, info and call snapshots; answers once they are sent.
 */
import type { Clock } from '../../../hw/base/clock';
import type { JsonObject } from '../../store/json';
import type { InfoBody } from '../topics';
import { RPC_PARAMS } from './method-params';
import type { RpcServer } from './rpc-server';

export interface BuiltinDeps {
  clock: Clock;
  info: () => InfoBody;
  rebirth: () => Promise<void>;
}


export function registerBuiltins(rpc: RpcServer, deps: BuiltinDeps): void {
  rpc.register('ping', { schema: RPC_PARAMS.ping, handler: () => Promise.resolve({ status: 'ok', data: { pong: true, ts: deps.clock.now() } }) });
  rpc.register('get_info', { schema: RPC_PARAMS.get_info, handler: () => Promise.resolve({ status: 'ok', data: deps.info() as JsonObject }) });
  rpc.register('rebirth', {
    schema: RPC_PARAMS.rebirth,
    handler: async () => {
      await deps.rebirth();
      return { status: 'ok' };
    },
  });
}
