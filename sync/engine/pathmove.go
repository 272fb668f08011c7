package engine

import (
	"context"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// pathLoop moves a peer's sync stream off a relay once a direct connection
// to the peer exists (hole punching succeeded): the host closes the relayed
// connection a few seconds later (p2p.RelayRetireGrace), resetting any
// stream still on it, and a note being sent would have to start over after
// a redial. Only the side that opened the stream moves it, so the two
// sides never replace each other's new stream.
func (e *Engine) pathLoop(ctx context.Context) {
	changes := e.host.PathChanges()
	for {
		select {
		case <-ctx.Done():
			return
		case pid, ok := <-changes:
			if !ok {
				return
			}
			e.mu.Lock()
			c := e.conns[pid]
			e.mu.Unlock()
			e.moveOffRelay(c)
		}
	}
}

// moveOffRelay opens a new stream to c's peer over a direct connection if c
// is our stream on a relayed one and a direct one exists; the new stream
// replaces c once its handshake is done (register).
func (e *Engine) moveOffRelay(c *conn) {
	if c == nil || !c.outbound || c.isClosed() || !relayed(c.s.Conn()) {
		return
	}
	if k := e.host.Path(c.pid).Kind; k != p2p.PathLAN && k != p2p.PathInternet {
		return
	}
	if !c.moving.CompareAndSwap(false, true) {
		return // under way, or tried
	}
	if !e.spawn(func(ctx context.Context) { e.moveStream(ctx, c) }) {
		close(c.moveDone)
	}
}

// moveStream opens the direct stream that replaces old; the new stream is
// registered (replacing old) before it returns.
func (e *Engine) moveStream(ctx context.Context, old *conn) {
	defer close(old.moveDone)
	pid := old.pid
	ctx, cancel := context.WithTimeout(ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	// Without WithAllowLimitedConn libp2p opens it on a direct connection
	// only.
	s, err := e.host.LibP2P().NewStream(ctx, pid, wire.ProtocolID)
	if err != nil {
		e.log.Debug("could not move sync to the direct connection; it stays on the relay until a redial", "peer", pid, "err", err)
		return
	}
	if relayed(s.Conn()) {
		_ = s.Reset()
		return
	}
	c := e.newConn(s, true)
	if err := c.dialHandshake(ctx); err != nil {
		e.log.Debug("could not move sync to the direct connection; it stays on the relay until a redial", "peer", pid, "err", err)
		return
	}
	if !e.spawn(func(context.Context) { c.serve() }) {
		c.close("engine stopping")
		return
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return
	}
	e.log.Info("sync moved from the relay to the direct connection", "peer", pid, "addr", s.Conn().RemoteMultiaddr())
}

func relayed(c network.Conn) bool {
	_, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}
