#!/usr/bin/env node
// Interop client: drives the official engine.io-client (6.x, or the 4.x or
// 5.x that EIO_CLIENT names) against an Engine.IO echo server (every message
// goes back to its sender, text as text and binary as binary; the text
// "close-me" makes the server close the session).
//
// Usage:
//   [EIO_CLIENT=engine.io-client-v4|engine.io-client-v5] node client.mjs <scenario> <server-url> [transport]
//
// Scenarios:
//   polling-echo                   text + binary echo, transports ["polling"], no upgrade
//   websocket-echo                 text + binary echo, transports ["websocket"]
//   upgrade                        polling -> websocket upgrade, then text + binary echo
//   large        <transport>       500 KiB text (and 500 KiB binary) echoed intact
//   ordered      <transport>       1000 messages "m0".."m999" echoed in order
//   server-close <transport>       send "close-me"; the server closes the session
//   client-close <transport>       echo "hi", then socket.close()
//   heartbeat    <transport>       stay connected 2 s (server pings every 300 ms), then echo
//
// <transport> is "polling" (polling only), "websocket" (websocket only) or
// "upgrade" (polling first, then upgrade to websocket); "polling-keepalive"
// polls over keep-alive connections, as a browser does.
//
// On success the script prints exactly one JSON line on stdout ({"ok":true,...})
// and exits 0. On failure it prints "client.mjs: <scenario>: <error>" and a
// trace of the socket events on stderr and exits 1. Every scenario has an
// overall timeout, so the script never hangs.
//
// Set DEBUG=engine.io-client:* to see the client's own debug output.

import http from "node:http";
import https from "node:https";

import { elapsedMs, finish, installedVersion, note, sleep, withTimeout } from "./common.mjs";

// EIO_CLIENT names the installed package to drive (see package.json):
// "engine.io-client" (6.x, the default), "engine.io-client-v4" or
// "engine.io-client-v5". All three speak protocol revision 4. The report
// gives the version that ran.
const CLIENT_PACKAGE = process.env.EIO_CLIENT || "engine.io-client";
const { Socket } = await import(CLIENT_PACKAGE);
const CLIENT_VERSION = installedVersion(CLIENT_PACKAGE);

const TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  // Polling over keep-alive connections, as a browser polls (the client's
  // default in Node is a new connection per request).
  "polling-keepalive": { transports: ["polling"], upgrade: false, keepAliveAgent: true },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

const LARGE_SIZE = 500 * 1024;
const ORDERED_COUNT = 1000;

// Per-scenario overall timeouts in milliseconds.
const TIMEOUTS = {
  "polling-echo": 15000,
  "websocket-echo": 15000,
  upgrade: 15000,
  large: 20000,
  ordered: 20000,
  "server-close": 15000,
  "client-close": 15000,
  heartbeat: 15000,
};

function describe(data) {
  if (typeof data === "string") {
    return data.length > 60
      ? `text(${data.length}) ${JSON.stringify(data.slice(0, 40))}...`
      : `text ${JSON.stringify(data)}`;
  }
  const b = toBytes(data);
  return b
    ? `binary(${b.length}) [${Array.from(b.subarray(0, 16)).join(",")}${b.length > 16 ? ",..." : ""}]`
    : `unknown ${typeof data}`;
}

// toBytes normalises binary data as delivered by engine.io-client in Node
// (Buffer with binaryType "nodebuffer", or ArrayBuffer / typed arrays) to a
// Uint8Array. It returns null for anything that is not binary.
function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

// Client wraps an engine.io-client Socket with a message queue and promises
// for its lifecycle events.
class Client {
  constructor(url, transport) {
    const opts = TRANSPORTS[transport];
    if (!opts) throw new Error(`unknown transport ${JSON.stringify(transport)} (want polling, websocket or upgrade)`);
    this.mode = transport;
    this.queue = [];
    this.waiters = [];
    this.closed = null; // {reason, description} once closed
    this.upgraded = false;
    this.pings = 0;
    this.errors = [];
    this.transportsSeen = [];

    const { keepAliveAgent, ...socketOpts } = opts;
    if (keepAliveAgent) {
      const agents = url.startsWith("https:") ? https : http;
      socketOpts.agent = new agents.Agent({ keepAlive: true });
    }
    this.socket = new Socket(url, { ...socketOpts, transports: [...opts.transports] });
    const socket = this.socket;

    this.opened = new Promise((resolve, reject) => {
      socket.on("open", () => {
        note("open", { sid: socket.id, transport: socket.transport.name });
        this.sid = socket.id;
        this.transportsSeen.push(socket.transport.name);
        this.trackWs();
        resolve();
      });
      socket.on("close", (reason, description) => {
        const desc = describeError(description);
        reject(new Error(`closed before open: ${reason}${desc ? " (" + desc + ")" : ""}`));
      });
    });
    this.opened.catch(() => {});

    this.closedPromise = new Promise((resolve) => {
      socket.on("close", (reason, description) => {
        const desc = describeError(description);
        note("close", { reason, description: desc });
        this.closed = { reason, description: desc, transport: socket.transport ? socket.transport.name : null };
        for (const w of this.waiters.splice(0)) {
          w.reject(new Error(`socket closed (${reason}${desc ? ": " + desc : ""}) while waiting for a message`));
        }
        resolve(this.closed);
      });
    });

    socket.on("message", (data) => {
      note("message", describe(data));
      const w = this.waiters.shift();
      if (w) w.resolve(data);
      else this.queue.push(data);
    });
    socket.on("upgrade", (t) => {
      note("upgrade", { transport: t && t.name });
      this.upgraded = true;
      this.transportsSeen.push(socket.transport.name);
      this.trackWs();
    });
    socket.on("upgradeError", (err) => note("upgradeError", String(err && err.message)));
    // Pings are counted from the "packet" event, which every major
    // emits: on a ping 4.x emits only "pong", 5.x and 6.x both.
    socket.on("packet", (p) => {
      if (p.type !== "ping") return;
      this.pings++;
      note("ping");
    });
    socket.on("error", (err) => {
      const msg = describeError(err);
      this.errors.push(msg);
      note("error", msg);
    });
  }

  // next resolves with the next message received by the socket.
  next(what = "a message", ms = 10000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) {
      return Promise.reject(new Error(`socket closed (${this.closed.reason}) while waiting for ${what}`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        // drop the timed-out waiter so that a later message is not swallowed
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timeout after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  async echoText(text) {
    this.socket.send(text);
    const got = await this.next(`the echo of ${describe(text)}`);
    if (typeof got !== "string") {
      throw new Error(`sent ${describe(text)}, got back non-text ${describe(got)}`);
    }
    if (got !== text) {
      const i = firstDifference(got, text);
      throw new Error(`sent ${describe(text)}, got back ${describe(got)} (first difference at index ${i})`);
    }
  }

  async echoBinary(bytes) {
    this.socket.send(bytes);
    const got = await this.next(`the echo of ${describe(bytes)}`);
    if (typeof got === "string") {
      throw new Error(`sent ${describe(bytes)}, got back text ${describe(got)}`);
    }
    const b = toBytes(got);
    if (!b) throw new Error(`sent ${describe(bytes)}, got back ${describe(got)}`);
    if (!bytesEqual(b, bytes)) {
      throw new Error(
        `sent ${describe(bytes)}, got back ${describe(b)} (first difference at index ${firstDifference(b, bytes)})`,
      );
    }
  }

  // closeGracefully closes the socket and waits (bounded) until the close has
  // reached the wire: the "1" packet POSTed for polling, the WebSocket close
  // handshake for websocket. Exiting earlier would abort those requests.
  // socket.close() may be deferred until a pending upgrade completes, so the
  // transport is inspected when the "close" event fires.
  async closeGracefully() {
    const flushed = this.closedPromise.then(
      () =>
        new Promise((resolve) => {
          const transport = this.socket.transport;
          if (transport && transport.name === "polling") {
            // _onClose has just started the POST of the close packet
            if (transport.writable) resolve("polling close packet sent");
            else transport.once("drain", () => resolve("polling close packet sent"));
          } else if (transport && transport.name === "websocket" && this.ws) {
            if (this.ws.readyState === 3 /* CLOSED */) resolve("websocket closed");
            else this.ws.once("close", () => resolve("websocket closed"));
          } else {
            resolve("closed");
          }
        }),
    );
    this.socket.close();
    await withTimeout(this.closedPromise, 5000, "the close event after socket.close()");
    return Promise.race([flushed, sleep(2000).then(() => "close not confirmed within 2 s")]);
  }

  // trackWs remembers the underlying ws.WebSocket of a websocket transport.
  trackWs() {
    const t = this.socket.transport;
    if (t && t.name === "websocket" && t.ws && typeof t.ws.once === "function") this.ws = t.ws;
  }

  transportName() {
    return this.socket.transport ? this.socket.transport.name : null;
  }
}

// describeError renders an engine.io-client error or close description,
// including the HTTP status and response body of a failed polling request
// and the underlying error of a failed WebSocket.
function describeError(d) {
  if (d === undefined || d === null) return undefined;
  if (typeof d !== "object") return String(d);
  const parts = [];
  if (d instanceof Error || typeof d.message === "string") parts.push(d.message);
  if (d.description !== undefined && d.description !== null) {
    const inner = d.description;
    if (typeof inner === "number") parts.push(`HTTP status ${inner}`);
    else if (typeof inner === "string") parts.push(inner);
    else if (inner instanceof Error || typeof inner.message === "string") parts.push(inner.message);
    else if (typeof inner === "object" && "code" in inner)
      parts.push(`code ${inner.code}${inner.reason ? " " + inner.reason : ""}`);
    else if (inner && inner.error && inner.error.message) parts.push(inner.error.message);
  }
  const ctx = d.context;
  if (ctx && typeof ctx === "object") {
    if (typeof ctx.responseText === "string" && ctx.responseText)
      parts.push(`response ${JSON.stringify(ctx.responseText.slice(0, 200))}`);
    if (ctx.code !== undefined && ctx.reason !== undefined)
      parts.push(`ws close ${ctx.code} ${JSON.stringify(String(ctx.reason))}`);
  }
  if (parts.length) return parts.join(": ");
  try {
    return JSON.stringify(d);
  } catch {
    return String(d);
  }
}

function needTransport(transport, scenario) {
  if (!transport) throw new Error(`scenario ${scenario} needs a transport argument: polling, websocket or upgrade`);
  return transport;
}

function largeText() {
  // A non-repeating-looking ASCII pattern so that a shifted or truncated
  // echo does not compare equal.
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let s = "";
  const chunk = [];
  for (let i = 0; i < 1024; i++) chunk.push(alphabet[(i * 7 + (i >> 6)) % alphabet.length]);
  const block = chunk.join("");
  for (let i = 0; i < LARGE_SIZE / 1024; i++) s += block.slice(i % 61) + block.slice(0, i % 61);
  return s;
}

function largeBinary() {
  const b = new Uint8Array(LARGE_SIZE);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

async function basicEcho(c) {
  await c.echoText("hello");
  await c.echoBinary(new Uint8Array([1, 2, 3, 4]));
}

const scenarios = {
  async "polling-echo"(url) {
    const c = new Client(url, "polling");
    await c.opened;
    await basicEcho(c);
    const transport = c.transportName();
    if (transport !== "polling") throw new Error(`transport is ${transport}, want polling`);
    if (c.upgraded) throw new Error("socket upgraded although upgrade is false");
    const closed = await c.closeGracefully();
    return { transport, sid: c.sid, echoed: 2, upgraded: c.upgraded, closed };
  },

  async "websocket-echo"(url) {
    const c = new Client(url, "websocket");
    await c.opened;
    await basicEcho(c);
    const transport = c.transportName();
    if (transport !== "websocket") throw new Error(`transport is ${transport}, want websocket`);
    const closed = await c.closeGracefully();
    return { transport, sid: c.sid, echoed: 2, closed };
  },

  async upgrade(url) {
    const c = new Client(url, "upgrade");
    await c.opened;
    const first = c.transportName();
    if (first !== "polling") throw new Error(`first transport is ${first}, want polling`);
    if (!c.upgraded) {
      await withTimeout(
        Promise.race([
          new Promise((resolve) => c.socket.once("upgrade", resolve)),
          new Promise((_, reject) =>
            c.socket.once("upgradeError", (err) => reject(new Error(`upgradeError: ${err && err.message}`))),
          ),
          c.closedPromise.then((r) => {
            throw new Error(`socket closed (${r.reason}) before the upgrade`);
          }),
        ]),
        10000,
        "the upgrade event",
      );
    }
    const transport = c.transportName();
    if (transport !== "websocket")
      throw new Error(`after the upgrade event the transport is ${transport}, want websocket`);
    await basicEcho(c);
    const closed = await c.closeGracefully();
    return { transport, firstTransport: first, sid: c.sid, upgraded: c.upgraded, echoed: 2, closed };
  },

  async large(url, transport) {
    const c = new Client(url, needTransport(transport, "large"));
    await c.opened;
    const text = largeText();
    await c.echoText(text);
    const bin = largeBinary();
    await c.echoBinary(bin);
    const closed = await c.closeGracefully();
    return {
      transport: c.transportName(),
      sid: c.sid,
      textLength: text.length,
      binaryLength: bin.length,
      echoed: 2,
      closed,
    };
  },

  async ordered(url, transport) {
    const c = new Client(url, needTransport(transport, "ordered"));
    await c.opened;
    const t0 = Date.now();
    for (let i = 0; i < ORDERED_COUNT; i++) c.socket.send(`m${i}`);
    for (let i = 0; i < ORDERED_COUNT; i++) {
      const got = await c.next(`echo #${i} ("m${i}")`);
      if (got !== `m${i}`)
        throw new Error(`echo #${i}: got ${describe(got)}, want "m${i}" (messages reordered, lost or duplicated)`);
    }
    const elapsedMs = Date.now() - t0;
    // nothing extra must arrive
    await sleep(100);
    if (c.queue.length)
      throw new Error(
        `${c.queue.length} unexpected extra messages after the ${ORDERED_COUNT} echoes, first ${describe(c.queue[0])}`,
      );
    const closed = await c.closeGracefully();
    return { transport: c.transportName(), sid: c.sid, echoed: ORDERED_COUNT, elapsedMs, closed };
  },

  async "server-close"(url, transport) {
    const c = new Client(url, needTransport(transport, "server-close"));
    await c.opened;
    if (transport === "upgrade" && !c.upgraded) {
      await withTimeout(new Promise((resolve) => c.socket.once("upgrade", resolve)), 10000, "the upgrade event");
    }
    const transportAtClose = c.transportName();
    // The echo of "before-close" is queued before the server closes the
    // session: the server must flush it before closing.
    c.socket.send("before-close");
    c.socket.send("close-me");
    const closed = await withTimeout(c.closedPromise, 10000, 'the close event after sending "close-me"');
    const received = c.queue.map((m) => (typeof m === "string" ? m : describe(m)));
    if (received.length !== 1 || received[0] !== "before-close") {
      throw new Error(
        `before the close the client received ${JSON.stringify(received)}, want ["before-close"] (reason ${closed.reason})`,
      );
    }
    if (closed.reason !== "transport close") {
      throw new Error(
        `close reason is ${JSON.stringify(closed.reason)} (${closed.description}), want "transport close"`,
      );
    }
    return {
      transport: transportAtClose,
      sid: c.sid,
      closeReason: closed.reason,
      closeDescription: closed.description,
      received,
      errors: c.errors,
    };
  },

  async "client-close"(url, transport) {
    const c = new Client(url, needTransport(transport, "client-close"));
    await c.opened;
    await c.echoText("hi");
    const closed = await c.closeGracefully();
    return {
      // the transport that carried the close (socket.close() waits for a
      // pending upgrade to finish)
      transport: c.closed.transport,
      sid: c.sid,
      echoed: 1,
      upgraded: c.upgraded,
      closeReason: c.closed.reason,
      closed,
    };
  },

  async heartbeat(url, transport) {
    const c = new Client(url, needTransport(transport, "heartbeat"));
    await c.opened;
    const sid = c.sid;
    // 6.x keeps the handshake's figures in _pingInterval and _pingTimeout,
    // 4.x and 5.x in pingInterval and pingTimeout.
    const pingInterval = c.socket._pingInterval ?? c.socket.pingInterval;
    const pingTimeout = c.socket._pingTimeout ?? c.socket.pingTimeout;
    await Promise.race([
      sleep(2000),
      c.closedPromise.then((r) => {
        throw new Error(
          `socket closed (${r.reason}${r.description ? ": " + r.description : ""}) during the 2 s wait, after ${c.pings} pings`,
        );
      }),
    ]);
    if (c.closed) throw new Error(`socket closed (${c.closed.reason})`);
    if (c.pings < 3) throw new Error(`only ${c.pings} pings in 2 s (server pingInterval ${pingInterval} ms)`);
    await c.echoText("still-alive");
    if (c.socket.id !== sid) throw new Error(`session id changed from ${sid} to ${c.socket.id}`);
    const closed = await c.closeGracefully();
    return { transport: c.transportName(), sid, pings: c.pings, pingInterval, pingTimeout, echoed: 1, closed };
  },
};

async function main() {
  const [scenario, url, transport] = process.argv.slice(2);
  if (!scenario || !url || !scenarios[scenario]) {
    throw new Error(
      `usage: node client.mjs <scenario> <server-url> [transport]\nscenarios: ${Object.keys(scenarios).join(", ")}`,
    );
  }
  const timeout = TIMEOUTS[scenario];
  const result = await withTimeout(scenarios[scenario](url, transport), timeout, `scenario ${scenario} to finish`);
  return { ok: true, scenario, mode: transport || null, client: CLIENT_VERSION, ...result, totalMs: elapsedMs() };
}

finish("client.mjs", main());
