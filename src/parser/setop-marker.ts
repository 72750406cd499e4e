/** The select item parse.ts puts first in the right operand of INTERSECT ALL / EXCEPT ALL; convert.ts reads it as the ALL and drops it. */
export const SETOP_ALL_MARKER = '__sluice_setop_all';
