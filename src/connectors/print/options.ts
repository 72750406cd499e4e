/**
 * The WITH options of `connector = 'print'`: none besides `connector` itself.
 */
import type { Options } from '../../parser/ast.js';
import { OptionReader } from '../option-reader.js';

/** Checks that a print sink was given no options it does not know. */
export function readPrintOptions(options: Options): void {
  new OptionReader('print', options).checkNames([]);
}
