/**
 * The environment the server's launch commands set: `npm start` (package.json) and the images
 * (docker/Dockerfile, docker/Dockerfile.softhsm). The C library and V8 read it when the process
 * starts, so the server cannot set it for itself (decisions 141, 146).
 *
 * MALLOC_MMAP_THRESHOLD_: glibc maps every allocation of 16 KiB or more on its own and returns it
 * when freed. Left to itself glibc raises the threshold to the largest buffer it has freed, keeps
 * request bodies, socket reads and audit batches in its heap and never gives the freed space back:
 * under 250-item transit batches `malloc_trim(0)` released 75 MB of a 307 MB process.
 *
 * NODE_OPTIONS `--max-semi-space-size=8`: V8's young generation at two 8 MB semi-spaces instead of
 * 16 (decision 146). Under 250-item batches it took 20 MB off the mean and 20–65 MB off the peaks;
 * V8 sizes the young generation when the process starts, so the server cannot set it for itself
 * (cluster workers inherit it).
 */
export const LAUNCH_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '16384', NODE_OPTIONS: '--max-semi-space-size=8' };

/** `env` without the launch settings, for programs of other kinds started by the server (PostgreSQL's own allocation is tuned for its workload, not ours). */
export function withoutLaunchEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of Object.keys(LAUNCH_ENVIRONMENT)) delete out[name];
  return out;
}
