/**
 * Sources, tables, views and sinks with their schemas. One namespace; creation order is a
 * topological order of the dependency graph (an object can only read what exists before it).
 */
export * from './catalog.js';
export * from './roles.js';
