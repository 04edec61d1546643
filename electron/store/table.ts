// The store's contract with the layers that own tables: a query table maps
// names to functions run on the worker's one connection, and everything a
// caller sees (`Store<Q>.call`, a job unit's `Write<Q>`) is typed from it.
// The store knows no table itself; electron/db assembles the project's.
import type { Database } from 'better-sqlite3';
import { AppError } from '../../shared/errors';

/** A named query with its arguments, checked by name at run time only (inside the worker). */
export interface AnyWrite {
  method: string;
  args: unknown;
}

/** What a query may use besides its connection: run another query of the same table (in its transaction). */
export interface QueryContext {
  run(write: AnyWrite): unknown;
}

/** A query takes the connection and at most one argument object (or none). */
export type Query = (db: Database, args: never, ctx: QueryContext) => unknown;
export type QueryTable = Record<string, Query>;

export type QueryName<Q extends QueryTable> = keyof Q & string;
export type QueryArgs<Q extends QueryTable, M extends keyof Q> = Parameters<Q[M]>[1];
export type QueryResult<Q extends QueryTable, M extends keyof Q> = ReturnType<Q[M]>;

/**
 * Per query, what `call` takes after the name: nothing for a query without arguments.
 * Indexed by name (rather than a conditional on M) so a Store of a larger table is a
 * Store of any smaller one: a layer types its store by the queries it uses.
 */
export type CallArgs<Q extends QueryTable> = {
  [M in keyof Q]: QueryArgs<Q, M> extends undefined ? [] : [QueryArgs<Q, M>];
};
export type CallResults<Q extends QueryTable> = { [M in keyof Q]: QueryResult<Q, M> };

/**
 * A query named for later execution inside another transaction (a job unit's
 * result, committed with its cursor): a union over the table's names, each
 * with its own arguments, so a wrong name/arguments pair does not compile.
 */
export type Write<Q extends QueryTable> = { [M in QueryName<Q>]: { method: M; args: QueryArgs<Q, M> } }[QueryName<Q>];

/** Runs a query named at run time (a worker message, a write) against `table`. */
export function runQuery(table: QueryTable, db: Database, method: string, args: unknown): unknown {
  const fn = Object.hasOwn(table, method) ? table[method] : undefined;
  if (fn === undefined) throw new AppError('internal', `unknown store query ${method}`);
  const ctx: QueryContext = { run: (write) => runQuery(table, db, write.method, write.args) };
  return (fn as (db: Database, args: unknown, ctx: QueryContext) => unknown)(db, args, ctx);
}
