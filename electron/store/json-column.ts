// JSON stored in a column is read back through a zod schema: a row written by
// another version or edited by hand fails with the table, row and column named
// instead of flowing on as a mistyped value.
import type { z } from 'zod';
import { describeIssues } from '../../shared/api';
import { AppError } from '../../shared/errors';

/** Where a JSON value was read: `jobs` row 7, column `cursor`. */
export interface ColumnAt {
  table: string;
  column: string;
  row: number | string;
}

const describe = (at: ColumnAt) => `${at.table} row ${at.row}, column ${at.column}`;

/** A value already decoded from a column, checked against its schema. */
export function checkColumn<S extends z.ZodType>(schema: S, value: unknown, at: ColumnAt): z.output<S> {
  const checked = schema.safeParse(value);
  if (!checked.success) {
    const where = describe(at);
    throw new AppError(
      'bad-file',
      `the project database holds an unexpected value in ${where}: ${describeIssues(checked.error)}`,
      { subject: where },
    );
  }
  return checked.data;
}

export function parseJsonColumn<S extends z.ZodType>(schema: S, text: string, at: ColumnAt): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const where = describe(at);
    throw new AppError('bad-file', `the project database holds invalid JSON in ${where}: ${(e as Error).message}`, {
      subject: where,
      cause: e,
    });
  }
  return checkColumn(schema, value, at);
}

/** Like parseJsonColumn; SQL NULL stays null. */
export function parseNullableJsonColumn<S extends z.ZodType>(
  schema: S,
  text: string | null,
  at: ColumnAt,
): z.output<S> | null {
  return text === null ? null : parseJsonColumn(schema, text, at);
}
