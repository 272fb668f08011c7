package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

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

	outbound bool // we opened it
	collab   bool // the peer accepts collab-change
	docExt   bool // the peer accepts collab-doc
	headsExt bool // the peer accepts collab-heads
	// headsListExt: the peer accepts collab-heads-list (the connect-time
	// heads of every shared note in a few messages).
	headsListExt bool
	// epochExt: the peer follows cut histories (epochs.go); its note
	// messages name their epoch.
	epochExt bool
	// introduced: our name went to the peer in a presence message on
	// this stream (see Engine.introduce).
	introduced atomic.Bool
	// moving: a stream over a direct connection is being opened to
	// replace this one, which is on a relay (pathmove.go); moveDone is
	// closed when that is over, either way.
	moving    atomic.Bool
	moveDone  chan struct{}
	js        bool // not a collab peer: sync messages, throttled
	ephemeral bool // the peer keeps nothing: do not resume its sync state
	since     time.Time

	qmu      sync.Mutex
	queue    []outFrame    // frames for the writer, oldest first
	queued   int           // bytes in queue after its first frame
	qstopped bool          // the writer has stopped: queue nothing more
	wake     chan struct{} // wakes the writer
	kick     chan struct{} // wakes the syncer
	closed   chan struct{}
	drain    chan struct{} // shutdown: write what is queued, then close
	ready    chan struct{} // registered (or refused: closed)
	once     sync.Once
	dOnce    sync.Once
	reason   atomic.Pointer[string]
	wg       sync.WaitGroup // writer and syncer

	bytesIn, bytesOut atomic.Int64

	// What this stream may make us relay (see ephemeralStreamRate).
	ephMsgs, ephBytes *rate.Limiter
	ephDropped        atomic.Bool // logged once per stream

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
		wake:     make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
		drain:    make(chan struct{}),
		ready:    make(chan struct{}),
		moveDone: make(chan struct{}),
		docs:     map[crdt.DocumentID]*docPeer{},

		ephMsgs:  rate.NewLimiter(ephemeralStreamRate, ephemeralStreamRate),
		ephBytes: rate.NewLimiter(ephemeralStreamBytes, ephemeralStreamBytes),
	}
}

// handleStream runs for every inbound stream (on libp2p's goroutine, which
// the engine counts as its own until the stream ends).
func (e *Engine) handleStream(s network.Stream) {
	if _, _, ok := e.offences.refused(s.Conn().RemotePeer(), time.Now()); ok {
		s.Reset()
		s.Conn().Close()
		return
	}
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
		// The one line about this refusal: the error may quote the peer.
		msg := "refused stream"
		if errors.Is(err, wire.ErrUnsupportedVersion) {
			msg = "protocol version mismatch: refused peer"
		}
		e.log.Warn(msg, "peer", c.pid, "err", peerText(err.Error()))
		close(c.ready)
		return
	}
	c.serve()
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
	e.moveOffRelay(c) // a direct connection may have appeared while it opened

	c.readLoop()

	c.close(c.closeReason())
	if c.moving.Load() {
		// The peer drops this stream once the new one is set up, maybe
		// before we have registered it: wait, so that the peer does not
		// look disconnected meanwhile.
		<-c.moveDone
		if e.replacement(c) != nil {
			moved := "moved to a direct connection"
			c.reason.Store(&moved)
		}
	}
	c.wg.Wait()
	e.unregister(c)
}

// isMoving reports whether a stream to replace c is being opened
// (pathmove.go).
func (c *conn) isMoving() bool {
	if !c.moving.Load() {
		return false
	}
	select {
	case <-c.moveDone:
		return false
	default:
		return true
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
// and closes it once the peer has read that (at most a second later). The
// reason is logged; it may quote the peer, so it is bounded and sanitised.
func (c *conn) refuse(reason string) {
	reason = peerText(reason)
	c.e.log.Warn("closing stream", "peer", c.pid, "reason", reason)
	c.reject(reason)
}

// offend is refuse for bad input: it also counts against the peer, whom
// repeated offences get refused for a while (offences.go).
func (c *conn) offend(reason string) {
	// Counted before the stream closes: a peer that reconnects at once
	// meets the refusal.
	refused := c.e.strike(c.pid, reason)
	c.refuse(reason)
	if refused {
		c.e.host.LibP2P().Network().ClosePeer(c.pid)
	}
}

// reject is refuse without the log line, for a caller that logs the
// refusal itself (the handshake: one line per refused stream).
func (c *conn) reject(reason string) {
	reason = peerText(reason)
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
	if err := c.enqueue(outFrame{b: frame, m: m, done: done}); err != nil {
		c.close(err.Error())
		if done != nil {
			done <- fmt.Errorf("send to %s: %w", c.pid, err)
		}
	}
}

// enqueue adds f to the send queue, or fails if the peer is too slow to
// take what is queued already: more than SendQueue frames, or more than
// SendQueueBytes behind the next frame to write. That next frame is not
// counted, so one message of any size the wire allows can always wait
// while others pile up behind it.
func (c *conn) enqueue(f outFrame) error {
	c.qmu.Lock()
	if c.qstopped {
		c.qmu.Unlock()
		return errors.New(c.closeReason())
	}
	if len(c.queue) >= c.e.cfg.SendQueue {
		c.qmu.Unlock()
		return fmt.Errorf("send queue full: peer too slow (%d frames waiting, limit %d)", len(c.queue)+1, c.e.cfg.SendQueue)
	}
	if len(c.queue) > 0 {
		if c.queued+len(f.b) > c.e.cfg.SendQueueBytes {
			c.qmu.Unlock()
			return fmt.Errorf("send queue full: peer too slow (%d bytes waiting behind the frame being sent, limit %d)", c.queued+len(f.b), c.e.cfg.SendQueueBytes)
		}
		c.queued += len(f.b)
	}
	c.queue = append(c.queue, f)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// dequeue takes the oldest queued frame, if any.
func (c *conn) dequeue() (outFrame, bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if len(c.queue) == 0 {
		return outFrame{}, false
	}
	f := c.queue[0]
	c.queue[0] = outFrame{}
	c.queue = c.queue[1:]
	if len(c.queue) > 0 {
		c.queued -= len(c.queue[0].b)
	} else {
		c.queue = nil
	}
	return f, true
}

func (c *conn) writer() {
	defer c.wg.Done()
	defer func() {
		// Whoever waits for a frame that will not be written learns why.
		c.close(c.closeReason())
		c.qmu.Lock()
		left := c.queue
		c.queue, c.queued, c.qstopped = nil, 0, true
		c.qmu.Unlock()
		for _, f := range left {
			if f.done != nil {
				f.done <- fmt.Errorf("send to %s: %s", c.pid, c.closeReason())
			}
		}
	}()
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
		if c.isClosed() {
			return
		}
		if f, ok := c.dequeue(); ok {
			if !write(f) {
				return
			}
			continue
		}
		select {
		case <-c.closed:
			return
		case <-c.wake:
		case <-c.drain:
			for {
				f, ok := c.dequeue()
				if !ok {
					break
				}
				if !write(f) {
					return
				}
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

// doc returns the conn's state for a note, nil if none.
func (c *conn) doc(id crdt.DocumentID) *docPeer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[id]
}

func (c *conn) docList() []*docPeer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.docs))
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
