// Waiting helpers shared by the interop drivers (client.mjs, client3.mjs,
// sioclient.mjs), so that no wait of theirs can hang.

// sleep resolves after ms milliseconds.
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// withTimeout settles as promise does, or rejects after ms milliseconds
// with an error that names what was waited for.
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// waitFor polls cond every 10 ms and reports whether it held within ms.
export async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(10);
  }
  return true;
}
