import { LayeredBackend, type Layer, type LayerCall } from '@stowage/core';

/** Logs every operation as one line that starts with `prefix`: `[uploads] write ok 2.1ms`. */
export function prefixedLogLayer(prefix: string, log: (line: string) => void = console.log): Layer {
  class PrefixedLog extends LayeredBackend {
    protected override async around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
      const started = performance.now();
      const line = (outcome: string) => `[${prefix}] ${call.operation} ${outcome} ${(performance.now() - started).toFixed(1)}ms`;
      try {
        const result = await run();
        log(line('ok'));
        return result;
      } catch (error) {
        log(line('failed'));
        throw error;
      }
    }
  }
  return { name: 'prefixed-log', wrap: (inner) => new PrefixedLog(inner) };
}
