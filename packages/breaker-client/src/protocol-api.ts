/**
 * `@vigil/breaker-client/protocol`: the building blocks of breaker protocol v1 that the client is made
 * of and that the vigil monitor shares: the constants and id rules, the key layout, the pure read path
 * (what a breaker's fields say at a time, and how scopes combine), transition ids, the script results,
 * the errors, and the Lua scripts with their loader.
 */
export * from './protocol.ts';
export { BreakerKeys } from './keys.ts';
export { CHECK_FIELDS, checkFieldsFrom, combine, describeDenial, evaluate, scopesOf, unknownBreaker } from './check.ts';
export type { CheckAnswer, CheckFields, ScopeRef, Verdict } from './check.ts';
export { seqTransitionId, tripTransitionId, TRANSITION_CAUSES } from './transition.ts';
export type { BreakerTransition, TransitionCause } from './transition.ts';
export type { OpResult, Outcome } from './results.ts';
export { BreakerError, isBreakerError, SCRIPT_ERROR_CODES, scriptError } from './errors.ts';
export type { BreakerErrorCode } from './errors.ts';
export { BREAKER_LUA_DIR, breakerScripts, commandName, expandIncludes, loadLuaScripts, registerScripts, runScript, SCRIPT_VERSION } from './lua.ts';
export type { ScriptDef } from './lua.ts';
export { CheckCache } from './check-cache.ts';
