/**
 * The one place vigil reads the process environment: the CLI's edge hands it to loadConfig() once.
 */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}
