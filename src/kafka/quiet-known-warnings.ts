/**
 * kafkajs 2.2.4 schedules a timer with a negative delay on Node ≥ 23, which Node reports as a
 * TimeoutNegativeWarning on every connection (tulios/kafkajs#1751; Node clamps the delay to 1 ms, so
 * behaviour is unaffected). This drops that one warning, when it comes from kafkajs, and passes every
 * other warning to Node's usual handlers.
 */
let installed = false;

export function quietKnownKafkajsWarnings(): void {
  if (installed) return;
  installed = true;
  const previous = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (w.name === 'TimeoutNegativeWarning' && (w.stack ?? '').includes('kafkajs')) return;
    for (const l of previous) l(w);
  });
}
