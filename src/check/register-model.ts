import type { Model } from './model.ts';

/** Operations on Jepsen's single integer register (etcd histories). */
export type RegisterInput =
  | { f: 'read' }
  | { f: 'write'; value: number }
  | { f: 'cas'; from: number; to: number };

export interface RegisterReadOutput {
  value: number | null;
}
/** A write only acknowledges. */
export type RegisterWriteOutput = Record<never, never>;
/** ok = swapped, i.e. the register held `from`. */
export interface RegisterCasOutput {
  ok: boolean;
}
export type RegisterOutput = RegisterReadOutput | RegisterWriteOutput | RegisterCasOutput;

/** null: never written. */
export type RegisterState = number | null;

export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  init: () => null,

  step(state, input, output) {
    switch (input.f) {
      case 'read':
        if (output === undefined) return { ok: true, state };
        return { ok: 'value' in output && output.value === state, state };
      case 'write':
        return { ok: true, state: input.value };
      case 'cas': {
        const holds = state === input.from;
        const after = holds ? input.to : state;
        if (output === undefined) return { ok: true, state: after };
        return { ok: 'ok' in output && output.ok === holds, state: after };
      }
    }
  },

  // String(null) is 'null', distinct from every String(number).
  hash: (state) => String(state),

  describe(input, output) {
    const result = (): string => {
      if (output === undefined) return '?';
      if ('value' in output) return String(output.value);
      if ('ok' in output) return output.ok ? 'ok' : 'fail';
      return 'ok';
    };
    switch (input.f) {
      case 'read':
        return `read() -> ${result()}`;
      case 'write':
        return `write(${input.value}) -> ${result()}`;
      case 'cas':
        return `cas(${input.from}, ${input.to}) -> ${result()}`;
    }
  },
};
