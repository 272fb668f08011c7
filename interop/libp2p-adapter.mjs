// An automerge-repo NetworkAdapter over js-libp2p that speaks collab's wire
// protocol (../PROTOCOL.md): one long-lived stream per remote peer on
// /automerge-repo/1, each frame an unsigned-varint length followed by one CBOR
// map (encoded and decoded with automerge-repo's own cbor-x helpers), frames of
// at most 64 MiB, and the join/peer handshake with protocol version "1".
//
// The libp2p node built by createLoopbackNode listens on 127.0.0.1 only and its
// connection gater refuses every non-loopback address, in and out.
import "./polyfill.mjs";
import { NetworkAdapter, cbor } from "@automerge/automerge-repo";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import * as lp from "it-length-prefixed";
import { createLibp2p } from "libp2p";

export const PROTOCOL_ID = "/automerge-repo/1";
export const PROTOCOL_VERSION = "1";
/** PROTOCOL.md section 2: the largest frame body (it-length-prefixed's default is 4 MiB). */
export const MAX_FRAME_SIZE = 64 * 1024 * 1024;
export const HANDSHAKE_TIMEOUT_MS = 10_000;

const trace = !!process.env.COLLAB_INTEROP_TRACE;

/** Reports whether a multiaddr's host is a loopback IP (127.0.0.0/8 or ::1). */
export function isLoopback(ma) {
  try {
    const { family, host } = (typeof ma === "string" ? multiaddr(ma) : ma).toOptions();
    return family === 4 ? host.startsWith("127.") : host === "::1";
  } catch {
    return false; // not an IP address (dns, p2p-circuit, ...)
  }
}

/** A libp2p node with TCP + noise + yamux on 127.0.0.1 that talks to loopback only. */
export async function createLoopbackNode() {
  return createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialMultiaddr: async (ma) => !isLoopback(ma),
      denyInboundConnection: (maConn) => !isLoopback(maConn.remoteAddr),
    },
  });
}

/** An async iterable the stream's sink drains; push never blocks. */
class Outbox {
  #items = [];
  #wake = null;
  #ended = false;
  push(item) {
    if (this.#ended) return false;
    this.#items.push(item);
    this.#wake?.();
    return true;
  }
  end() {
    this.#ended = true;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      while (this.#items.length > 0) yield this.#items.shift();
      if (this.#ended) return;
      await new Promise((resolve) => (this.#wake = resolve));
      this.#wake = null;
    }
  }
}

class ProtocolError extends Error {}

/** One /automerge-repo/1 stream: frames in, frames out. */
class PeerStream {
  constructor(stream, remote, log) {
    this.stream = stream;
    this.remote = remote; // libp2p peer ID string
    this.repoPeerId = null; // the remote repo's senderId, fixed by the handshake
    this.closed = false;
    this.log = log;
    this.outbox = new Outbox();
    stream.sink(this.outbox).catch((err) => this.log(`stream to ${this.remote}: write: ${err.message}`));
    this.frames = lp.decode(stream.source, { maxDataLength: MAX_FRAME_SIZE })[Symbol.asyncIterator]();
  }

  send(msg) {
    const body = cbor.encode(msg);
    if (body.byteLength > MAX_FRAME_SIZE) {
      // PROTOCOL.md: a sender must not send; the stream stays.
      this.log(`not sending ${msg.type} to ${this.remote}: ${body.byteLength} bytes exceeds ${MAX_FRAME_SIZE}`);
      return;
    }
    if (trace) this.log(`-> ${this.remote.slice(-6)} ${describe(msg)} (${body.byteLength} B)`);
    this.outbox.push(lp.encode.single(body));
  }

  /** The next message, or null at a clean end of stream. Throws on bad frames and messages. */
  async next(timeoutMs) {
    let timer;
    const frame = await (timeoutMs === undefined
      ? this.frames.next()
      : Promise.race([
          this.frames.next(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new ProtocolError(`no message within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]).finally(() => clearTimeout(timer)));
    if (frame.done) return null;
    const body = frame.value.subarray();
    if (body.byteLength === 0) throw new ProtocolError("empty frame");
    let msg;
    try {
      msg = cbor.decode(body);
    } catch (err) {
      throw new ProtocolError(`frame is not CBOR: ${err.message}`);
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg) || msg instanceof Uint8Array) {
      throw new ProtocolError("frame is not a CBOR map");
    }
    if (typeof msg.type !== "string") throw new ProtocolError("message without a type");
    // Byte fields may come back as views of the frame; give automerge its own copy.
    if (msg.data instanceof Uint8Array) msg.data = new Uint8Array(msg.data);
    if (trace) this.log(`<- ${this.remote.slice(-6)} ${describe(msg)} (${body.byteLength} B)`);
    return msg;
  }

  /** Closes gracefully: queued frames are still written. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.outbox.end();
    this.stream.close().catch(() => this.stream.abort(new Error("close failed")));
  }

  /** Sends an error message (best effort), then closes. */
  fail(message) {
    if (this.closed) return;
    this.log(`closing stream with ${this.remote}: ${message}`);
    try {
      this.send({ type: "error", message });
    } catch {
      // best effort
    }
    this.close();
  }
}

function describe(msg) {
  const doc = msg.documentId ? ` ${msg.documentId.slice(0, 6)}` : "";
  const data = msg.data instanceof Uint8Array ? ` data=${msg.data.byteLength}B` : "";
  return `${msg.type}${doc}${data}`;
}

/**
 * Libp2pAdapter connects an automerge-repo Repo to peers over js-libp2p.
 * Call start() once before using it; dial() opens a stream to a peer.
 */
export class Libp2pAdapter extends NetworkAdapter {
  #node;
  #log;
  #onEvent;
  #ready = false;
  #readyWaiters = Promise.withResolvers();
  #byRepoPeer = new Map(); // remote senderId -> PeerStream
  #byRemote = new Map(); // remote libp2p peer ID -> PeerStream
  #dialled = new Set(); // senderIds of peers we opened the stream to

  /**
   * @param node a started libp2p node
   * @param opts.log function(string) for diagnostics
   * @param opts.onEvent function({event, ...}) told of peer-connected / peer-disconnected
   */
  constructor(node, { log = () => {}, onEvent = () => {} } = {}) {
    super();
    this.#node = node;
    this.#log = log;
    this.#onEvent = onEvent;
  }

  async start() {
    await this.#node.handle(PROTOCOL_ID, ({ stream, connection }) => {
      this.#accept(stream, connection).catch((err) => this.#log(`inbound stream: ${err.message}`));
    });
  }

  // NetworkAdapterInterface

  isReady() {
    return this.#ready;
  }

  whenReady() {
    return this.#readyWaiters.promise;
  }

  connect(peerId, peerMetadata) {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#ready = true;
    this.#readyWaiters.resolve();
  }

  send(message) {
    const conn = this.#byRepoPeer.get(message.targetId);
    if (!conn || conn.closed) {
      this.#log(`dropping ${message.type} for ${message.targetId}: not connected`);
      return;
    }
    conn.send(message);
  }

  disconnect() {
    for (const conn of [...this.#byRepoPeer.values()]) conn.close();
    this.#node.unhandle(PROTOCOL_ID).catch(() => {});
  }

  // Ours

  /** The connected peers: [{peerId (libp2p), repoPeerId (senderId)}]. */
  peers() {
    return [...this.#byRepoPeer.values()].map((c) => ({ peerId: c.remote, repoPeerId: c.repoPeerId }));
  }

  hasPeer(repoPeerId) {
    return this.#byRepoPeer.has(repoPeerId);
  }

  /** Reports whether we opened the stream to this repo peer (dial), not it to us. */
  dialled(repoPeerId) {
    return this.#dialled.has(repoPeerId);
  }

  /**
   * Dials addr (a loopback multiaddr ending in /p2p/<id>), opens the stream
   * and does the handshake (join, then peer). Resolves to {peerId, repoPeerId}.
   * A peer already connected is not dialled again.
   */
  async dial(addr) {
    const ma = multiaddr(addr);
    if (!isLoopback(ma)) throw new Error(`refusing to dial ${addr}: not a loopback address`);
    const remote = ma.getPeerId();
    if (!remote) throw new Error(`dial ${addr}: address needs a /p2p/<peer-id> part`);
    const existing = this.#byRemote.get(remote);
    if (existing && !existing.closed && existing.repoPeerId) {
      return { peerId: remote, repoPeerId: existing.repoPeerId };
    }
    await this.whenReady();
    const stream = await this.#node.dialProtocol(ma, PROTOCOL_ID, { signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) });
    const conn = new PeerStream(stream, remote, this.#log);
    conn.send({
      type: "join",
      senderId: this.peerId,
      peerMetadata: this.peerMetadata,
      supportedProtocolVersions: [PROTOCOL_VERSION],
    });
    let reply;
    try {
      reply = await conn.next(HANDSHAKE_TIMEOUT_MS);
    } catch (err) {
      stream.abort(err);
      throw new Error(`handshake with ${remote}: ${err.message}`);
    }
    if (reply === null) {
      conn.close();
      throw new Error(`handshake with ${remote}: stream closed before the reply`);
    }
    if (reply.type === "error") {
      conn.close();
      throw new Error(`handshake with ${remote}: refused: ${reply.message}`);
    }
    if (reply.type !== "peer") {
      conn.fail(`expected peer, got ${reply.type}`);
      throw new Error(`handshake with ${remote}: expected peer, got ${reply.type}`);
    }
    if (reply.selectedProtocolVersion !== PROTOCOL_VERSION) {
      conn.close();
      throw new Error(
        `handshake with ${remote}: the other peer selected protocol version ${JSON.stringify(reply.selectedProtocolVersion)}; this peer speaks [${PROTOCOL_VERSION}]`,
      );
    }
    if (typeof reply.senderId !== "string" || reply.senderId === "" || reply.targetId !== this.peerId) {
      conn.fail("peer message with a bad senderId or targetId");
      throw new Error(`handshake with ${remote}: bad senderId/targetId in peer message`);
    }
    if (!this.#bind(conn, reply.senderId)) {
      throw new Error(`handshake with ${remote}: senderId ${reply.senderId} is bound to another peer`);
    }
    this.#dialled.add(reply.senderId);
    this.#peerUp(conn, reply.peerMetadata);
    void this.#readLoop(conn);
    return { peerId: remote, repoPeerId: reply.senderId };
  }

  async #accept(stream, connection) {
    await this.whenReady();
    const conn = new PeerStream(stream, connection.remotePeer.toString(), this.#log);
    let join;
    try {
      join = await conn.next(HANDSHAKE_TIMEOUT_MS);
    } catch (err) {
      conn.fail(err.message);
      return;
    }
    if (join === null) return conn.close();
    if (join.type !== "join") return conn.fail(`expected join, got ${join.type}`);
    if (typeof join.senderId !== "string" || join.senderId === "") return conn.fail("join without senderId");
    const versions = join.supportedProtocolVersions ?? [PROTOCOL_VERSION];
    if (!Array.isArray(versions) || !versions.includes(PROTOCOL_VERSION)) {
      return conn.fail(`unsupported protocol versions [${[].concat(versions).join(" ")}]; this peer speaks [${PROTOCOL_VERSION}]`);
    }
    if (!this.#bind(conn, join.senderId)) return;
    conn.send({
      type: "peer",
      senderId: this.peerId,
      targetId: join.senderId,
      peerMetadata: this.peerMetadata,
      selectedProtocolVersion: PROTOCOL_VERSION,
    });
    // The repo learns of the peer only after the reply is queued, so that
    // nothing it sends can overtake the peer message.
    this.#peerUp(conn, join.peerMetadata);
    await this.#readLoop(conn);
  }

  /** Binds conn to repoPeerId, replacing an older stream of the same peer. */
  #bind(conn, repoPeerId) {
    const old = this.#byRepoPeer.get(repoPeerId);
    if (old && !old.closed && old.remote !== conn.remote) {
      conn.fail(`senderId ${repoPeerId} is in use by another peer`);
      return false;
    }
    conn.repoPeerId = repoPeerId;
    if (old) {
      // A reconnect: the repo forgets the old stream's sync state.
      this.#byRepoPeer.delete(repoPeerId);
      old.close();
      this.emit("peer-disconnected", { peerId: repoPeerId });
    }
    this.#byRepoPeer.set(repoPeerId, conn);
    this.#byRemote.set(conn.remote, conn);
    return true;
  }

  /** Tells the repo (and the driver) about a peer whose handshake is done. */
  #peerUp(conn, peerMetadata) {
    this.#log(`connected to ${conn.remote} (repo peer ${conn.repoPeerId})`);
    this.#onEvent({ event: "peer-connected", peerId: conn.remote, repoPeerId: conn.repoPeerId });
    this.emit("peer-candidate", { peerId: conn.repoPeerId, peerMetadata: cleanMetadata(peerMetadata) });
  }

  async #readLoop(conn) {
    try {
      for (;;) {
        const msg = await conn.next();
        if (msg === null) break;
        if (!this.#receive(conn, msg)) break;
      }
    } catch (err) {
      if (!conn.closed) {
        this.#log(`stream with ${conn.remote}: ${err.message}`);
        if (err instanceof ProtocolError) conn.fail(err.message);
        else conn.stream.abort(err);
      }
    } finally {
      conn.close();
      if (this.#byRemote.get(conn.remote) === conn) this.#byRemote.delete(conn.remote);
      if (this.#byRepoPeer.get(conn.repoPeerId) === conn) {
        this.#byRepoPeer.delete(conn.repoPeerId);
        this.#log(`disconnected from ${conn.remote} (repo peer ${conn.repoPeerId})`);
        this.#onEvent({ event: "peer-disconnected", peerId: conn.remote, repoPeerId: conn.repoPeerId });
        this.emit("peer-disconnected", { peerId: conn.repoPeerId });
      }
    }
  }

  /** Handles one message after the handshake; false means the stream is done. */
  #receive(conn, msg) {
    switch (msg.type) {
      case "join":
      case "peer":
        conn.fail(`unexpected ${msg.type} after the handshake`);
        return false;
      case "error":
        this.#log(`peer ${conn.remote} reported an error: ${msg.message}`);
        return false;
      case "leave":
        return false;
    }
    if (msg.senderId !== undefined && typeof msg.senderId !== "string") {
      conn.fail(`${msg.type} with a non-text senderId`);
      return false;
    }
    // ephemeral keeps its originator's senderId when relayed.
    if (msg.type !== "ephemeral" && msg.senderId !== conn.repoPeerId) {
      conn.fail(`${msg.type} claims senderId ${msg.senderId}, but this stream is ${conn.repoPeerId}`);
      return false;
    }
    if (msg.targetId !== this.peerId) {
      this.#log(`dropping ${msg.type} for ${msg.targetId}: not this peer (${this.peerId})`);
      return true;
    }
    // Unknown types are dropped by automerge-repo's NetworkSubsystem.
    this.emit("message", msg);
    return true;
  }
}

function cleanMetadata(m) {
  const out = {};
  if (m && typeof m === "object") {
    if (typeof m.storageId === "string" && m.storageId !== "") out.storageId = m.storageId;
    if (typeof m.isEphemeral === "boolean") out.isEphemeral = m.isEphemeral;
  }
  return out;
}
