// repo-peer.mjs: a Node automerge-repo peer over js-libp2p (TCP + noise +
// yamux, loopback only) speaking collab's wire protocol, driven through
// stdin/stdout JSON lines. See README.md for the command set.
//
//   node repo-peer.mjs [--announce=all|dialled|none]
//
// On start it prints {"event":"ready","peerId","repoPeerId","addrs":[...]}.
// Commands are read one JSON object per line and run one at a time, in order;
// each gets exactly one reply line, carrying the command's "id" if it had one.
// Lines without an "id" that the driver did not ask for are notifications
// ("peer-connected", "peer-disconnected"). Diagnostics go to stderr.
import "./polyfill.mjs";
import * as A from "@automerge/automerge";
import { Repo, isValidAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { createInterface } from "node:readline";
import { Libp2pAdapter, createLoopbackNode } from "./libp2p-adapter.mjs";

const DEFAULT_FIND_TIMEOUT_MS = 30_000;
const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) usage(`unexpected argument ${a}`);
    return [m[1], m[2] ?? "true"];
  }),
);
const announce = args.announce ?? "all";
if (!["all", "dialled", "none"].includes(announce)) usage(`bad --announce ${announce}`);
for (const k of Object.keys(args)) if (k !== "announce") usage(`unknown flag --${k}`);

function usage(msg) {
  process.stderr.write(`repo-peer: ${msg}\nusage: node repo-peer.mjs [--announce=all|dialled|none]\n`);
  process.exit(2);
}

let tag = "repo-peer";
const log = (msg) => process.stderr.write(`[${tag}] ${msg}\n`);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

process.on("unhandledRejection", (err) => log(`unhandled rejection: ${err?.stack ?? err}`));

const node = await createLoopbackNode();
const adapter = new Libp2pAdapter(node, { log: (m) => log(m), onEvent: out });
await adapter.start();

const repo = new Repo({
  network: [adapter],
  // No storage: the repo is ephemeral and its peerMetadata carries
  // storageId: undefined, as a browser tab's would.
  // Which connected peers a new or changed document is announced to (an
  // unsolicited sync message); anyone may still ask for any document.
  sharePolicy: async (peerId) => {
    if (announce === "none") return false;
    if (announce === "dialled") return adapter.dialled(peerId);
    return adapter.hasPeer(peerId);
  },
});
await adapter.whenReady();
tag = `repo-peer ${node.peerId.toString().slice(-6)}`;

out({
  event: "ready",
  peerId: node.peerId.toString(),
  repoPeerId: repo.peerId,
  addrs: node.getMultiaddrs().map((a) => a.toString()),
});
log(`ready: repo peer ${repo.peerId}, announce=${announce}, listening on ${node.getMultiaddrs().join(" ")}`);

// Text helpers. Positions on the wire of this tool count Unicode code points,
// as collab does; automerge-js counts UTF-16 code units.

function str(v) {
  return v === undefined || v === null ? "" : v.toString();
}

function utf16Index(s, codePoints) {
  let i = 0;
  for (let n = 0; n < codePoints && i < s.length; n++) {
    i += s.codePointAt(i) > 0xffff ? 2 : 1;
  }
  return i;
}

function snapshot(handle) {
  const doc = handle.doc();
  return { url: handle.url, title: str(doc?.title), text: str(doc?.text) };
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), ms))),
  ]).finally(() => clearTimeout(timer));
}
const TIMEOUT = Symbol("timeout");

function needUrl(c) {
  if (typeof c.url !== "string" || !isValidAutomergeUrl(c.url)) {
    throw new Error(`not an automerge URL: ${JSON.stringify(c.url)}`);
  }
  return c.url;
}

// handleOf returns the handle of a document this repo has (found, created or
// announced to it), or finds it on the network.
async function handleOf(c) {
  const url = needUrl(c);
  const h = repo.handles[parseAutomergeUrl(url).documentId];
  if (h?.isReady()) return h;
  const r = await withTimeout(repo.find(url), c.timeoutMs ?? DEFAULT_FIND_TIMEOUT_MS);
  if (r === TIMEOUT) throw new Error(`document ${url} not found in time`);
  return r;
}

const commands = {
  async dial(c) {
    const { peerId, repoPeerId } = await adapter.dial(c.addr);
    return { event: "dialed", peerId, repoPeerId };
  },

  async find(c) {
    const url = needUrl(c);
    const started = Date.now();
    const r = await withTimeout(
      repo.find(url).then(
        (h) => ({ h }),
        (err) => ({ err }),
      ),
      c.timeoutMs ?? DEFAULT_FIND_TIMEOUT_MS,
    );
    const ms = Date.now() - started;
    if (r === TIMEOUT) return { event: "timeout", url, ms };
    if (r.err) {
      if (/unavailable/i.test(r.err.message)) return { event: "unavailable", url, ms };
      throw r.err;
    }
    return { event: "found", ...snapshot(r.h), ms };
  },

  async create(c) {
    const handle = repo.create();
    handle.change((d) => {
      d.title = str(c.title);
      d.text = "";
      A.splice(d, ["text"], 0, 0, str(c.text));
    });
    return { event: "created", url: handle.url };
  },

  async splice(c) {
    const handle = await handleOf(c);
    const pos = c.pos ?? 0;
    const del = c.del ?? 0;
    if (!Number.isInteger(pos) || !Number.isInteger(del) || pos < 0 || del < 0) {
      throw new Error("pos and del must be non-negative integers");
    }
    handle.change((d) => {
      if (typeof d.text !== "string") d.text = "";
      const cur = d.text;
      const start = utf16Index(cur, pos);
      const end = utf16Index(cur, pos + del);
      A.splice(d, ["text"], start, end - start, str(c.text));
    });
    return { event: "spliced", ...snapshot(handle) };
  },

  async text(c) {
    return { event: "text", ...snapshot(await handleOf(c)) };
  },

  async wait(c) {
    const handle = await handleOf(c);
    const want = str(c.contains);
    const { promise, resolve } = Promise.withResolvers();
    const check = () => {
      if (str(handle.doc()?.text).includes(want)) resolve();
    };
    handle.on("change", check);
    try {
      check();
      const r = await withTimeout(promise, c.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      if (r === TIMEOUT) return { event: "timeout", ...snapshot(handle) };
      return { event: "text", ...snapshot(handle) };
    } finally {
      handle.off("change", check);
    }
  },

  async peers() {
    return { event: "peers", peers: adapter.peers() };
  },
};

let quitting = false;

async function run(line) {
  if (line.trim() === "") return;
  let c;
  try {
    c = JSON.parse(line);
  } catch (err) {
    out({ event: "error", error: `bad JSON: ${err.message}` });
    return;
  }
  const reply = (obj) => out(c.id === undefined ? { ...obj, cmd: c.cmd } : { ...obj, cmd: c.cmd, id: c.id });
  if (c.cmd === "quit") {
    reply({ event: "bye" });
    await shutdown(0);
    return;
  }
  const fn = Object.hasOwn(commands, c.cmd) ? commands[c.cmd] : null;
  if (!fn) {
    reply({ event: "error", error: `unknown command ${JSON.stringify(c.cmd)}` });
    return;
  }
  try {
    reply(await fn(c));
  } catch (err) {
    log(`${c.cmd}: ${err.stack ?? err}`);
    reply({ event: "error", error: err.message ?? String(err) });
  }
}

async function shutdown(code) {
  if (quitting) return;
  quitting = true;
  // Never hang on the way out.
  setTimeout(() => process.exit(code), 2000).unref();
  try {
    await repo.shutdown();
  } catch (err) {
    log(`repo shutdown: ${err.message}`);
  }
  try {
    await node.stop();
  } catch (err) {
    log(`libp2p stop: ${err.message}`);
  }
  process.exit(code);
}

let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  queue = queue.then(() => run(line));
});
// stdin closed (the driver went away): leave.
rl.on("close", () => {
  queue = queue.then(() => shutdown(0));
});
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
