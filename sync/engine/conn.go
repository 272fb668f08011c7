package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// conn is one live /automerge-repo/1 stream with a peer, after the
// handshake. Its reader goroutine (the one that made it) owns it: it
// starts the writer and the syncer, and cleans up after both stopped.
type conn struct {
	e            *Engine
	s            network.Stream
	fr           *wire.FrameReader
	fw           *wire.FrameWriter
	pid          peer.ID
	peerKey      string // pid as a string: sync states, Update.Peer
	remoteSender string // the senderId the handshake bound to this stream

	outbound  bool // we opened it
	collab    bool // the peer accepts collab-change
	docExt    bool // the peer accepts collab-doc
	js        bool // not a collab peer: sync messages, throttled
	ephemeral bool // the peer keeps nothing: do not resume its sync state
	since     time.Time

	out    chan outFrame
	kick   chan struct{} // wakes the syncer
	closed chan struct{}
	drain  chan struct{} // shutdown: write what is queued, then close
	ready  chan struct{} // registered (or refused: closed)
	once   sync.Once
	dOnce  sync.Once
	reason atomic.Pointer[string]
	wg     sync.WaitGroup // writer and syncer

	bytesIn, bytesOut atomic.Int64

	mu   sync.Mutex
	docs map[crdt.DocumentID]*docPeer

	askedMu sync.Mutex
	asked   map[crdt.DocumentID]bool // announcements answered (see askOnce)
}

type outFrame struct {
	b    []byte
	m    wire.Message
	done chan error
}

func (e *Engine) newConn(s network.Stream, outbound bool) *conn {
	return &conn{
		e: e, s: s, fr: wire.NewFrameReader(s), fw: wire.NewFrameWriter(s),
		pid: s.Conn().RemotePeer(), peerKey: s.Conn().RemotePeer().String(),
		outbound: outbound, since: time.Now(),
		out:    make(chan outFrame, e.cfg.SendQueue),
		kick:   make(chan struct{}, 1),
		closed: make(chan struct{}),
		drain:  make(chan struct{}),
		ready:  make(chan struct{}),
		docs:   map[crdt.DocumentID]*docPeer{},
	}
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// close resets the stream at once; the first reason is the one logged.
func (c *conn) close(reason string) {
	c.once.Do(func() {
		c.reason.Store(&reason)
		close(c.closed)
		c.s.Reset()
	})
}

// shutdown lets the writer send what is queued, then closes the stream.
func (c *conn) shutdown(reason string) {
	c.dOnce.Do(func() {
		c.reason.CompareAndSwap(nil, &reason)
		close(c.drain)
	})
}

func (c *conn) closeReason() string {
	if r := c.reason.Load(); r != nil {
		return *r
	}
	return "stream ended"
}

// refuse sends an error message (best effort), ends our side of the stream
// and closes it once the peer has read that (at most a second later).
func (c *conn) refuse(reason string) {
	c.e.log.Warn("closing stream", "peer", c.pid, "reason", reason)
	c.reason.CompareAndSwap(nil, &reason)
	c.s.SetWriteDeadline(time.Now().Add(time.Second))
	c.fw.WriteMessage(&wire.ErrorMessage{SenderID: c.e.self, TargetID: c.remoteSender, Message: reason})
	c.s.CloseWrite()
	c.s.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(c.s, 1<<20))
	c.close(reason)
}

// send queues m for the writer. A peer too slow to take its frames is
// disconnected rather than allowed to hold anyone up.
func (c *conn) send(m wire.Message) {
	c.sendDone(m, nil)
}

func (c *conn) sendDone(m wire.Message, done chan error) {
	frame, err := wire.Encode(m)
	if err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) {
			c.e.log.Error("message too large to send; the note's history is too large to sync in one message",
				"peer", c.pid, "type", m.Type(), "err", err)
		} else {
			c.e.log.Error("cannot encode message", "peer", c.pid, "type", m.Type(), "err", err)
		}
		if done != nil {
			done <- err
		}
		return
	}
	if c.isClosed() {
		if done != nil {
			done <- fmt.Errorf("send to %s: %s", c.pid, c.closeReason())
		}
		return
	}
	select {
	case c.out <- outFrame{b: frame, m: m, done: done}:
	default:
		c.close("send queue full: peer too slow")
		if done != nil {
			done <- fmt.Errorf("send to %s: send queue full", c.pid)
		}
	}
}

func (c *conn) writer() {
	defer c.wg.Done()
	write := func(f outFrame) bool {
		c.s.SetWriteDeadline(time.Now().Add(writeTimeout))
		err := c.fw.WriteFrame(f.b)
		if f.done != nil {
			f.done <- err
		}
		if err != nil {
			c.close(fmt.Sprintf("write: %v", err))
			return false
		}
		c.bytesOut.Add(int64(len(f.b)))
		if h := c.e.testSent; h != nil {
			h(c.pid, f.m, len(f.b))
		}
		return true
	}
	for {
		select {
		case <-c.closed:
			return
		case f := <-c.out:
			if !write(f) {
				return
			}
		case <-c.drain:
			for {
				select {
				case f := <-c.out:
					if !write(f) {
						return
					}
					continue
				default:
				}
				break
			}
			c.s.CloseWrite()
			// Give the peer a moment to see the end and close its side.
			select {
			case <-c.closed:
			case <-time.After(time.Second):
			}
			c.close(c.closeReason())
			return
		}
	}
}

// handleStream runs for every inbound stream (on libp2p's goroutine, which
// the engine counts as its own until the stream ends).
func (e *Engine) handleStream(s network.Stream) {
	e.mu.Lock()
	if e.ctx == nil || e.stopped {
		e.mu.Unlock()
		s.Reset()
		return
	}
	e.wg.Add(1)
	ctx := e.ctx
	e.mu.Unlock()
	defer e.wg.Done()

	c := e.newConn(s, false)
	stop := context.AfterFunc(ctx, func() { c.close("engine stopping") })
	err := c.acceptHandshake()
	stop()
	if err != nil {
		e.log.Warn("refused stream", "peer", c.pid, "err", err)
		close(c.ready)
		return
	}
	c.serve()
}

func (c *conn) myMetadata() wire.PeerMetadata {
	return wire.PeerMetadata{Extensions: []string{wire.ExtChange, wire.ExtDoc}}
}

// acceptHandshake is the listening side: join in, peer (or error) out.
func (c *conn) acceptHandshake() error {
	e := c.e
	c.s.SetReadDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	m, err := c.fr.ReadMessage()
	if err != nil {
		c.close("handshake: " + err.Error())
		if errors.Is(err, wire.ErrInvalidMessage) {
			return fmt.Errorf("handshake: %w", err)
		}
		return fmt.Errorf("handshake: no join: %w", err)
	}
	c.s.SetReadDeadline(time.Time{})
	j, ok := m.(*wire.Join)
	if !ok {
		c.refuse(fmt.Sprintf("expected join, got %s", m.Type()))
		return fmt.Errorf("handshake: expected join, got %s", m.Type())
	}
	c.remoteSender = j.SenderID
	version, err := wire.SelectProtocolVersion(j.SupportedProtocolVersions)
	if err != nil {
		e.log.Warn("protocol version mismatch: refusing peer", "peer", c.pid, "err", err)
		c.refuse(err.Error())
		return err
	}
	if err := c.bindSender(j.SenderID, j.PeerMetadata); err != nil {
		c.refuse(err.Error())
		return err
	}
	c.s.SetWriteDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	if err := c.fw.WriteMessage(&wire.Peer{SenderID: e.self, TargetID: j.SenderID, PeerMetadata: c.myMetadata(), SelectedProtocolVersion: version}); err != nil {
		c.close("handshake: " + err.Error())
		return fmt.Errorf("handshake: send peer: %w", err)
	}
	return nil
}

// dialHandshake is the connecting side: join out, peer (or error) in.
func (c *conn) dialHandshake(ctx context.Context) error {
	e := c.e
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.s.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.close("handshake canceled") })
	defer stop()
	if err := c.fw.WriteMessage(&wire.Join{SenderID: e.self, PeerMetadata: c.myMetadata(), SupportedProtocolVersions: []string{wire.ProtocolVersion}}); err != nil {
		c.close("handshake: " + err.Error())
		return fmt.Errorf("handshake with %s: send join: %w", c.pid, err)
	}
	m, err := c.fr.ReadMessage()
	if err != nil {
		c.close("handshake: " + err.Error())
		return fmt.Errorf("handshake with %s: %w", c.pid, err)
	}
	c.s.SetDeadline(time.Time{})
	switch m := m.(type) {
	case *wire.Peer:
		if err := wire.AcceptProtocolVersion(m.SelectedProtocolVersion); err != nil {
			e.log.Warn("protocol version mismatch: closing", "peer", c.pid, "err", err)
			c.refuse(err.Error())
			return fmt.Errorf("handshake with %s: %w", c.pid, err)
		}
		if m.TargetID != e.self {
			c.refuse("peer message addressed to someone else")
			return fmt.Errorf("handshake with %s: peer message for %q", c.pid, m.TargetID)
		}
		c.remoteSender = m.SenderID
		if err := c.bindSender(m.SenderID, m.PeerMetadata); err != nil {
			c.refuse(err.Error())
			return fmt.Errorf("handshake with %s: %w", c.pid, err)
		}
		return nil
	case *wire.ErrorMessage:
		c.close("refused by peer: " + m.Message)
		if strings.Contains(strings.ToLower(m.Message), "version") {
			e.log.Warn("protocol version mismatch: peer refused us", "peer", c.pid, "message", m.Message, "ours", wire.ProtocolVersion)
			return fmt.Errorf("handshake with %s: %w: peer says %q (we speak [%s])", c.pid, wire.ErrUnsupportedVersion, m.Message, wire.ProtocolVersion)
		}
		return fmt.Errorf("handshake with %s: refused: %s", c.pid, m.Message)
	default:
		c.refuse(fmt.Sprintf("expected peer, got %s", m.Type()))
		return fmt.Errorf("handshake with %s: expected peer, got %s", c.pid, m.Type())
	}
}

// bindSender checks the senderId a handshake declares against the stream's
// authenticated peer (PROTOCOL.md section 6).
func (c *conn) bindSender(sender string, md wire.PeerMetadata) error {
	if id, err := peer.Decode(sender); err == nil {
		if id != c.pid {
			return fmt.Errorf("senderId %s is not this stream's peer %s", sender, c.pid)
		}
	} else {
		c.e.mu.Lock()
		other := c.e.senders[sender]
		c.e.mu.Unlock()
		if other != nil && other.pid != c.pid && !other.isClosed() {
			return fmt.Errorf("senderId %q is already bound to another peer", sender)
		}
	}
	for _, x := range md.Extensions {
		switch x {
		case wire.ExtChange:
			c.collab = true
		case wire.ExtDoc:
			c.docExt = true
		}
	}
	c.js = !c.collab
	c.ephemeral = md.IsEphemeral || (c.js && md.StorageID == "")
	return nil
}

// serve registers the stream, runs it and cleans up; on the goroutine that
// made the handshake.
func (c *conn) serve() {
	e := c.e
	if !e.register(c) {
		close(c.ready)
		return
	}
	kind := "automerge-repo"
	if c.collab {
		kind = "collab"
	}
	dir := "inbound"
	if c.outbound {
		dir = "outbound"
	}
	e.log.Info("peer connected", "peer", c.pid, "sender", c.remoteSender, "kind", kind, "dir", dir, "addr", c.s.Conn().RemoteMultiaddr())
	c.wg.Add(2)
	go c.writer()
	go c.syncer()
	close(c.ready)
	e.emit(Event{Kind: PeersChanged, Peer: c.peerKey})

	c.readLoop()

	c.close(c.closeReason())
	c.wg.Wait()
	e.unregister(c)
}

// register makes c the live stream of its peer. Two streams at once: a
// simultaneous open (both younger than the handshake timeout, opened by
// different sides) keeps the stream opened by the peer whose ID sorts lower,
// as the other side decides too; otherwise the newer stream replaces the
// older (a reconnect).
func (e *Engine) register(c *conn) bool {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		c.close("engine stopping")
		return false
	}
	old := e.conns[c.pid]
	if old != nil && !old.isClosed() {
		if old.outbound != c.outbound && time.Since(old.since) < e.cfg.HandshakeTimeout {
			opener := func(x *conn) string {
				if x.outbound {
					return e.self
				}
				return x.peerKey
			}
			if opener(old) < opener(c) {
				e.mu.Unlock()
				e.log.Debug("duplicate stream (simultaneous dial): keeping the other", "peer", c.pid)
				c.close("duplicate stream (simultaneous dial)")
				return false
			}
		}
	}
	e.conns[c.pid] = c
	if _, err := peer.Decode(c.remoteSender); err != nil {
		e.senders[c.remoteSender] = c
	}
	e.mu.Unlock()
	if old != nil {
		old.close("replaced by a newer stream")
	}
	return true
}

func (e *Engine) unregister(c *conn) {
	e.mu.Lock()
	if e.conns[c.pid] == c {
		delete(e.conns, c.pid)
	}
	if e.senders[c.remoteSender] == c {
		delete(e.senders, c.remoteSender)
	}
	t := e.targets[c.pid]
	if t != nil {
		t.next = time.Now().Add(200 * time.Millisecond)
	}
	e.mu.Unlock()

	c.mu.Lock()
	docs := slices.Collect(maps.Values(c.docs))
	c.docs = map[crdt.DocumentID]*docPeer{}
	c.mu.Unlock()
	for _, dp := range docs {
		dp.saveState()
		dp.ns.mu.Lock()
		delete(dp.ns.dps, c)
		dp.ns.mu.Unlock()
		dp.ns.updateLive()
		if dp.ns.pres.dropVia(c) {
			e.emit(Event{Kind: PresenceChanged, Note: dp.ns.id})
		}
		if dp.isActive() {
			dp.ns.note.RememberPeer(e.knownPeer(c.pid))
		}
		dp.ns.signal()
		e.noteStatusChanged(dp.ns)
	}
	e.log.Info("peer disconnected", "peer", c.pid, "reason", c.closeReason(),
		"sent", c.bytesOut.Load(), "received", c.bytesIn.Load(), "after", time.Since(c.since).Round(time.Millisecond))
	e.emit(Event{Kind: PeersChanged, Peer: c.peerKey})
	e.wakeDialer()
}

// readLoop reads and handles messages until the stream ends or breaks a
// rule.
func (c *conn) readLoop() {
	e := c.e
	rate := float64(e.cfg.MessageRate)
	tokens, last := 2*rate, time.Now()
	for {
		frame, err := c.fr.ReadFrame()
		if err != nil {
			draining := false
			select {
			case <-c.drain:
				draining = true
			default:
			}
			switch {
			case c.isClosed(), draining:
				c.close(c.closeReason())
			case err == io.EOF:
				c.close("peer closed the stream")
			default:
				e.log.Warn("closing stream", "peer", c.pid, "reason", "read: "+err.Error())
				c.close("read: " + err.Error())
			}
			return
		}
		c.bytesIn.Add(int64(len(frame)))
		now := time.Now()
		tokens = min(2*rate, tokens+now.Sub(last).Seconds()*rate)
		last = now
		if tokens < 1 {
			c.refuse(fmt.Sprintf("flood: more than %d messages a second", e.cfg.MessageRate))
			return
		}
		tokens--
		m, err := wire.Decode(frame)
		if err != nil {
			c.refuse("malformed message: " + err.Error())
			return
		}
		if !c.handle(m) {
			return
		}
	}
}

// handle acts on one message; false ends the stream.
func (c *conn) handle(m wire.Message) bool {
	e := c.e
	route := wire.RouteOf(m)
	switch m.(type) {
	case *wire.Ephemeral, *wire.Unknown:
	default:
		if route.Sender != c.remoteSender {
			c.refuse(fmt.Sprintf("spoofed sender: %s message claims senderId %q on the stream of %q", m.Type(), route.Sender, c.remoteSender))
			return false
		}
	}
	switch m := m.(type) {
	case *wire.Join, *wire.Peer:
		c.refuse("second " + m.Type() + " on an open stream")
		return false
	case *wire.ErrorMessage:
		e.log.Warn("peer reported an error; closing", "peer", c.pid, "message", m.Message)
		c.close("peer error: " + m.Message)
		return false
	case *wire.Leave:
		c.close("peer left")
		return false
	case *wire.Unknown, *wire.RemoteSubscriptionChange, *wire.RemoteHeadsChanged:
		return true
	}
	if route.Target != e.self {
		e.log.Debug("dropping message for someone else", "peer", c.pid, "type", m.Type(), "target", route.Target)
		return true
	}
	id, err := crdt.ParseDocumentID(route.Document)
	if err != nil {
		c.refuse(fmt.Sprintf("malformed message: %s with invalid documentId %q", m.Type(), route.Document))
		return false
	}
	switch m := m.(type) {
	case *wire.Request:
		return c.onSync(id, m.Data, true)
	case *wire.Sync:
		return c.onSync(id, m.Data, false)
	case *wire.DocUnavailable:
		c.onUnavailable(id)
		return true
	case *wire.CollabChange:
		return c.onChange(id, m.Data)
	case *wire.CollabDoc:
		return c.onDoc(id, m.Data)
	case *wire.Ephemeral:
		return c.onEphemeral(id, m)
	}
	return true
}

func (c *conn) onUnavailable(id crdt.DocumentID) {
	e := c.e
	e.mu.Lock()
	ns := e.notes[id]
	e.mu.Unlock()
	if ns == nil {
		return
	}
	dp := c.doc(id)
	if dp == nil {
		return
	}
	e.log.Info("peer does not have the note", "peer", c.pid, "note", id)
	ns.mu.Lock()
	ns.unavailable[c.peerKey] = true
	ns.mu.Unlock()
	ns.signal()
}

// doc returns the conn's state for a note, nil if none.
func (c *conn) doc(id crdt.DocumentID) *docPeer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[id]
}

// detach forgets a note on this stream (after saving its sync state).
func (c *conn) detach(id crdt.DocumentID) {
	c.mu.Lock()
	dp := c.docs[id]
	delete(c.docs, id)
	c.mu.Unlock()
	if dp == nil {
		return
	}
	dp.ns.mu.Lock()
	delete(dp.ns.dps, c)
	dp.ns.mu.Unlock()
	dp.ns.updateLive()
}

// sayGoodbye queues presence goodbyes for every note on the stream.
func (c *conn) sayGoodbye() {
	for _, dp := range c.docList() {
		if dp.isActive() {
			c.e.sendPresence(dp.ns, []*docPeer{dp}, "goodbye")
		}
	}
}
