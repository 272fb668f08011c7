package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/collab-editor/collab/sync/wire"
)

func (c *conn) myMetadata() wire.PeerMetadata {
	return wire.PeerMetadata{Extensions: []string{wire.ExtChange, wire.ExtDoc, wire.ExtHeads, wire.ExtHeadsList, wire.ExtEpoch}}
}

// readHandshake reads a join or peer: a few IDs, so a larger frame (which
// anyone who can connect could send) is refused before it is read.
func (c *conn) readHandshake() (wire.Message, error) {
	frame, err := c.fr.ReadFrameAdmit(func(size int) error {
		if size > maxHandshakeFrame {
			return fmt.Errorf("%w: a handshake message may have at most %d bytes", wire.ErrFrameTooLarge, maxHandshakeFrame)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return wire.Decode(frame)
}

// acceptHandshake is the listening side: join in, peer (or error) out.
func (c *conn) acceptHandshake() error {
	e := c.e
	c.s.SetReadDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	m, err := c.readHandshake()
	if err != nil {
		c.close("handshake: " + err.Error())
		if errors.Is(err, wire.ErrInvalidMessage) || errors.Is(err, wire.ErrFrameTooLarge) {
			e.punish(c.pid, "handshake: "+err.Error())
			return fmt.Errorf("handshake: %w", err)
		}
		return fmt.Errorf("handshake: no join: %w", err)
	}
	c.s.SetReadDeadline(time.Time{})
	j, ok := m.(*wire.Join)
	if !ok {
		c.reject(fmt.Sprintf("expected join, got %s", m.Type()))
		e.punish(c.pid, "expected join, got "+m.Type())
		return fmt.Errorf("handshake: expected join, got %s", m.Type())
	}
	c.remoteSender = j.SenderID
	version, err := wire.SelectProtocolVersion(j.SupportedProtocolVersions)
	if err != nil {
		c.reject(err.Error())
		return err
	}
	if err := c.bindSender(j.SenderID, j.PeerMetadata); err != nil {
		c.reject(err.Error())
		e.punish(c.pid, err.Error())
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
	m, err := c.readHandshake()
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
			c.offend("peer message addressed to someone else")
			return fmt.Errorf("handshake with %s: peer message for %q", c.pid, m.TargetID)
		}
		c.remoteSender = m.SenderID
		if err := c.bindSender(m.SenderID, m.PeerMetadata); err != nil {
			c.offend(err.Error())
			return fmt.Errorf("handshake with %s: %w", c.pid, err)
		}
		return nil
	case *wire.ErrorMessage:
		said := peerText(m.Message)
		c.close("refused by peer: " + said)
		if strings.Contains(strings.ToLower(said), "version") {
			e.log.Warn("protocol version mismatch: peer refused us", "peer", c.pid, "message", said, "ours", wire.ProtocolVersion)
			return fmt.Errorf("handshake with %s: %w: peer says %q (we speak [%s])", c.pid, wire.ErrUnsupportedVersion, said, wire.ProtocolVersion)
		}
		return fmt.Errorf("handshake with %s: refused: %s", c.pid, said)
	default:
		c.offend(fmt.Sprintf("expected peer, got %s", m.Type()))
		return fmt.Errorf("handshake with %s: expected peer, got %s", c.pid, m.Type())
	}
}
