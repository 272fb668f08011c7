package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/time/rate"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/sync/wire"
)

// readLoop reads and handles messages until the stream ends or breaks a
// rule.
func (c *conn) readLoop() {
	e := c.e
	// Bursts of twice the rate pass; a peer above it for longer is a flood.
	limit := rate.NewLimiter(rate.Limit(e.cfg.MessageRate), 2*e.cfg.MessageRate)
	for {
		reserved := 0
		frame, err := c.fr.ReadFrameAdmit(func(size int) error {
			var err error
			reserved, err = c.admitFrame(size)
			return err
		})
		c.s.SetReadDeadline(time.Time{}) // idle between frames is fine
		if err != nil {
			e.strangerBytes.Add(-int64(reserved))
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
			case isTimeout(err):
				reason := fmt.Sprintf("read: a frame was not finished within %v: %v", e.cfg.FrameTimeout, err)
				e.log.Warn("closing stream", "peer", c.pid, "reason", reason)
				c.close(reason)
			default:
				e.log.Warn("closing stream", "peer", c.pid, "reason", "read: "+err.Error())
				c.close("read: " + err.Error())
			}
			return
		}
		c.bytesIn.Add(int64(len(frame)))
		ok := c.handleFrame(frame, limit)
		e.strangerBytes.Add(-int64(reserved))
		if !ok {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handleFrame decodes and handles one frame; false ends the stream.
func (c *conn) handleFrame(frame []byte, limit *rate.Limiter) bool {
	if !limit.Allow() {
		c.offend(fmt.Sprintf("flood: more than %d messages a second", c.e.cfg.MessageRate))
		return false
	}
	m, err := wire.Decode(frame)
	if err != nil {
		c.offend("malformed message: " + err.Error())
		return false
	}
	return c.handle(m)
}

// errStrangersBusy: strangers' frames already hold strangerFrameBudget.
var errStrangersBusy = errors.New("busy: too many large frames from peers that share no note with us")

// admitFrame decides, once a frame's length is known, whether to read it,
// and gives the peer FrameTimeout to send the rest. A stranger (see
// member) may send at most strangerMaxFrame, and only while all strangers'
// frames being read or handled fit in strangerFrameBudget; it returns the
// bytes it reserved there, to be given back once the frame is handled.
func (c *conn) admitFrame(size int) (reserved int, err error) {
	e := c.e
	if !c.member() {
		if size > strangerMaxFrame {
			return 0, fmt.Errorf("%w: a peer that shares no note with us may send at most %d bytes", wire.ErrFrameTooLarge, strangerMaxFrame)
		}
		if e.strangerBytes.Add(int64(size)) > strangerFrameBudget {
			e.strangerBytes.Add(-int64(size))
			return 0, errStrangersBusy
		}
		reserved = size
	}
	c.s.SetReadDeadline(time.Now().Add(e.cfg.FrameTimeout))
	return reserved, nil
}

// member reports whether the peer is trusted with the largest frames: we
// dialled it, or it is a known peer of a note (which anyone who names a
// note we have becomes: the note's ID is the capability).
func (c *conn) member() bool {
	return c.outbound || c.e.IsKnownPeer(c.pid)
}

// handle acts on one message; false ends the stream.
func (c *conn) handle(m wire.Message) bool {
	e := c.e
	route := wire.RouteOf(m)
	switch m.(type) {
	case *wire.Ephemeral, *wire.Unknown:
	default:
		if route.Sender != c.remoteSender {
			c.offend(fmt.Sprintf("spoofed sender: %s message claims senderId %q on the stream of %q", m.Type(), route.Sender, c.remoteSender))
			return false
		}
	}
	switch m := m.(type) {
	case *wire.Join, *wire.Peer:
		c.offend("second " + m.Type() + " on an open stream")
		return false
	case *wire.ErrorMessage:
		// Logged once, as the reason the stream ended.
		c.close("peer error: " + peerText(m.Message))
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
	if m, ok := m.(*wire.CollabHeadsList); ok { // about many documents
		return c.onHeadsList(m.Data)
	}
	id, err := crdt.ParseDocumentID(route.Document)
	if err != nil {
		c.offend(fmt.Sprintf("malformed message: %s with invalid documentId %q", m.Type(), route.Document))
		return false
	}
	switch m := m.(type) {
	case *wire.Request:
		return c.onSync(id, m.Data, true, m.Epoch)
	case *wire.Sync:
		return c.onSync(id, m.Data, false, m.Epoch)
	case *wire.DocUnavailable:
		c.onUnavailable(id)
		return true
	case *wire.CollabChange:
		return c.onChange(id, m.Data, m.Epoch)
	case *wire.CollabDoc:
		return c.onDoc(id, m.Data, m.Epoch)
	case *wire.CollabHeads:
		return c.onHeads(id, m.Heads, m.Epoch)
	case *wire.CollabEpoch:
		return c.onEpoch(id, m)
	case *wire.Ephemeral:
		return c.onEphemeral(id, m)
	}
	return true
}

func (c *conn) onUnavailable(id crdt.DocumentID) {
	e := c.e
	ns := e.opened(id)
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
