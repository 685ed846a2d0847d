/** Polls `check` every 100 ms until it holds; fails after `ms`. For effects that land asynchronously (loops, notifications). */
export async function until(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
