import { createRequire } from 'node:module';
import type * as Cel from '@bufbuild/cel';

/**
 * @bufbuild/cel, loaded once through its CommonJS build. Its own type checker (0.6.1) is not
 * exported and handles only constants, so expressions are checked by `checker.ts`; this
 * module gives the parser and the evaluator.
 */
const require = createRequire(import.meta.url);
const cel = require('@bufbuild/cel') as typeof Cel;

export const { celEnv, celType, celFunc, celMethod, celList, celMap, celListConcat, listType, parse, plan, CelScalar, mapType, isCelError, isCelMap, isCelList, isCelUint } = cel;
/** The RE2 engine @bufbuild/cel uses for `matches`, so that a metered engine can wrap it. */
export const { RE2JS } = require('@bufbuild/re2') as typeof import('@bufbuild/re2');
export type CelEnv = Cel.CelEnv;
export type CelValue = Cel.CelValue;
export type CelInput = Cel.CelInput;
export type CelList = Cel.CelList;
export type ParsedExpr = ReturnType<typeof cel.parse>;
export type Expr = ParsedExpr['expr'];
