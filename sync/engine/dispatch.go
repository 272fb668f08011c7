package engine

import (
	"fmt"
	"io"

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
		if !limit.Allow() {
			c.refuse(fmt.Sprintf("flood: more than %d messages a second", e.cfg.MessageRate))
			return
		}
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
	case *wire.CollabHeads:
		return c.onHeads(id, m.Heads)
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
