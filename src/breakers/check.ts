// Lives in @vigil/breaker-client (the protocol, shared with every client); re-exported for the monitor's modules.
export * from '@vigil/breaker-client/protocol';
