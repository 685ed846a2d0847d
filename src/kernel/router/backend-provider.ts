/**
 * How an engine's or auth method's Nest module declares its BackendDefinition: as a provider that
 * registers it on the mount table when Nest builds it (at start-up, before anything is routed).
 * Adding an engine is adding its module to the list the composition root imports.
 */
import type { FactoryProvider } from '@nestjs/common';
import type { BackendDefinition } from '../../framework/backend';
import type { Provided, TypedToken } from '../../framework/typed-token';
import { MountTable } from './mount-table';

type Token = TypedToken<unknown> | (abstract new (...args: never[]) => unknown);

/** `dependencies` names the tokens to inject; `build` gets them under the same names, typed. */
export function backendProvider<const D extends Record<string, Token>>(
  type: string,
  dependencies: D,
  build: (deps: { [K in keyof D]: Provided<D[K]> }) => BackendDefinition,
): FactoryProvider<BackendDefinition> {
  const names = Object.keys(dependencies);
  return {
    provide: Symbol(`backend ${type}`),
    inject: [MountTable, ...names.map((n) => dependencies[n])],
    useFactory: (mounts: MountTable, ...values: unknown[]) => {
      const backend = build(Object.fromEntries(names.map((n, i) => [n, values[i]])) as { [K in keyof D]: Provided<D[K]> });
      if (backend.type !== type) throw new Error(`backend provider ${type} built a ${backend.type} backend`);
      mounts.register(backend);
      return backend;
    },
  };
}
