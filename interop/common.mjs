// What the interop drivers (client.mjs, client3.mjs, sioclient.mjs) share:
// waits that cannot hang, the trace of socket events printed on failure,
// the installed version of a client package, and how a run ends.

import fs from "node:fs";

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

const startedAt = Date.now();
const trace = [];

// elapsedMs is the time since the driver started.
export function elapsedMs() {
  return Date.now() - startedAt;
}

// note records a socket event for the failure report (the last 200).
export function note(event, detail) {
  const entry = { t: elapsedMs(), event };
  if (detail !== undefined) entry.detail = detail;
  trace.push(entry);
  if (trace.length > 200) trace.splice(0, trace.length - 200);
}

// installedVersion returns the version of the package installed as pkg in
// interop/node_modules (an npm alias names its directory).
export function installedVersion(pkg) {
  return JSON.parse(fs.readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version;
}

// finish ends the driver named script once report settles: with its
// JSON line on stdout and exit code 0, or with the error and the last
// socket events on stderr and exit code 1.
export function finish(script, report) {
  report.then(
    (result) => process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0)),
    (err) => {
      const tail = trace.slice(-30).map((e) => `  +${e.t}ms ${e.event}${e.detail !== undefined ? " " + JSON.stringify(e.detail) : ""}`);
      process.stderr.write(
        `${script}: ${process.argv[2] || "(none)"}: ${err && err.message ? err.message : err}\n` +
          (tail.length ? `socket events (last ${tail.length}):\n${tail.join("\n")}\n` : ""),
        () => process.exit(1),
      );
    },
  );
}
