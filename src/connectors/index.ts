// placeholder replaced by the connectors work
import type { SinkFactory, SourceFactory } from './api.js';
import type { Options } from '../parser/ast.js';
import type { Schema } from '../common/types.js';
export const sourceFactories: Record<string, SourceFactory> = {};
export const sinkFactories: Record<string, SinkFactory> = {};
export function validateSourceOptions(_c: string, _o: Options, _s: Schema): void {}
export function validateSinkOptions(_c: string, _o: Options, _s: Schema): void {}
