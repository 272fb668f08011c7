package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// Join fetches note id from the peers at addrs (each ending in /p2p/<id>):
// it dials them, requests the note, waits until its body has arrived,
// stores it and remembers those peers for the note. On failure nothing of
// the note is left behind; if every peer answered that it lacks the note,
// the error wraps ErrUnavailable and names them. Joining a note we already
// have just adds the peers and syncs.
//
// When the note is new to us and no peer could be reached now (offline,
// unreachable, the connection dropped) but may be later, the join is kept
// pending: the error is a *PendingError (ErrJoinPending, and ErrUnreachable
// with why), and Run retries it in the background until the note arrives
// or CancelJoin. A join that completes ends a pending one of the note.
func (e *Engine) Join(ctx context.Context, id crdt.DocumentID, addrs []ma.Multiaddr) error {
	infos, err := peer.AddrInfosFromP2pAddrs(addrs...)
	if err != nil {
		return fmt.Errorf("join %s: addresses need a /p2p/<peer-id> part: %w", id, err)
	}
	if len(infos) == 0 {
		return fmt.Errorf("join %s: no peer address given", id)
	}
	if !e.claimJoin(id) && !e.claimCancelledJoin(ctx, id) {
		return fmt.Errorf("join %s: a join of this note is under way already (a pending join being retried): wait for it, or cancel it first", id)
	}
	err = e.join(ctx, id, infos, nil, "", true)
	e.releaseJoin(id)
	var pe *PeerError
	switch {
	case err == nil:
		if rerr := e.nb.RemovePendingJoin(id); rerr == nil {
			e.joinsChanged(id)
		} else if !errors.Is(rerr, notebook.ErrNoPendingJoin) {
			e.log.Warn("cannot forget a pending join", "note", id, "err", rerr)
		}
		return nil
	case !errors.As(err, &pe) || !pe.retry:
		return err
	case e.opened(id) != nil:
		// The note was ours before (a failed join drops only a note it
		// created): its known peers are redialled anyway.
		return err
	}
	return e.keepPending(id, addrs, err)
}

// typed says the addresses in infos are the user's (a ticket, typed):
// they are kept for redial. An invitation's are what the inviter claimed
// (see addInvitation): once connected, only what the connection confirms
// is kept.
func (e *Engine) join(ctx context.Context, id crdt.DocumentID, infos []peer.AddrInfo, seed []byte, seedPeer string, typed bool) error {
	if _, err := e.runCtx(); err != nil {
		return fmt.Errorf("join %s: %w", id, err)
	}
	created := false
	ns, err := e.openNote(id)
	switch {
	case err == nil:
		// A note left without a body by an interrupted join counts as ours
		// to remove if this join fails too.
		created = !ns.hasBody()
	case errors.Is(err, notebook.ErrNotFound):
		n, err := e.nb.Join(id)
		if err != nil {
			return fmt.Errorf("join %s: %w", id, err)
		}
		ns, err = e.adoptNote(n)
		if err != nil {
			n.Close()
			e.nb.Trash(id)
			return fmt.Errorf("join %s: %w", id, err)
		}
		created = true
	default:
		return fmt.Errorf("join %s: %w", id, err)
	}
	fail := func(err error) error {
		if created {
			e.trashJoined(ns)
		}
		return err
	}
	ns.mu.Lock()
	clear(ns.unavailable)
	ns.mu.Unlock()

	if seed != nil && !ns.hasBody() {
		if err := ns.note.ReceiveSync(seedPeer, ns.note.NewSyncState(), seed); err != nil {
			e.log.Warn("the offered copy of the note could not be applied", "note", id, "err", err)
		}
	}

	var conns []*conn
	var errs []error
	for _, info := range infos {
		c, err := e.connect(ctx, info)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		conns = append(conns, c)
	}
	if len(conns) == 0 {
		if ns.hasBody() && seed != nil {
			// Accepting an offer whose bytes we hold: the note is complete as
			// offered; sync when the inviter is back (at the addresses the
			// invitation holds: accepting it is the user's choice).
			for _, info := range infos {
				e.rememberPeer(ns, info.ID, true, stringsOf(info.Addrs)...)
			}
			return nil
		}
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		err := &PeerError{msg: strings.Join(msgs, "; "), kind: ErrUnreachable, cause: errors.Join(errs...),
			retry: slices.ContainsFunc(errs, retryLater)}
		e.log.Debug("join failed", "note", id, "err", err, "cause", strings.Join(RawCauses(err), "; "))
		return fail(err)
	}
	for _, c := range conns {
		if dp := c.attach(ns); dp != nil {
			dp.activate()
			dp.markDirty(false)
		}
	}
	e.log.Info("joining note", "note", id, "peers", len(conns))

	for !ns.hasBody() {
		wake := ns.waitCh()
		if ns.hasBody() {
			break
		}
		var refused, closed []*conn
		open := 0
		replaced := map[int]*conn{}
		ns.mu.Lock()
		for i, c := range conns {
			switch {
			case ns.unavailable[c.peerKey]:
				refused = append(refused, c)
			case c.isClosed() && c.isMoving():
				open++ // its replacement is on the way
			case c.isClosed():
				if r := e.replacement(c); r != nil {
					replaced[i] = r
					open++
					continue
				}
				closed = append(closed, c)
			default:
				open++
			}
		}
		ns.mu.Unlock()
		// A stream replaced by a newer one to the same peer (moved off a
		// relay, or a redial) carries the join on.
		for i, r := range replaced {
			conns[i] = r
			if dp := r.attach(ns); dp != nil {
				dp.activate()
				dp.markDirty(false)
			}
		}
		if open == 0 {
			if len(refused) > 0 {
				return fail(e.unavailable(refused))
			}
			return fail(e.closedBeforeNote(closed))
		}
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("join %s: %w", id, ctx.Err()))
		case <-wake:
		case <-time.After(time.Second):
		}
	}
	for _, c := range conns {
		var extra []string
		for _, info := range infos {
			if typed && info.ID == c.pid {
				extra = stringsOf(reachableLike(info.Addrs, c.s.Conn().RemoteMultiaddr()))
			}
		}
		e.rememberPeer(ns, c.pid, true, extra...)
	}
	e.log.Info("joined note", "note", id, "title", ns.note.Title())
	return nil
}

// reachableLike keeps a ticket's loopback addresses only when the peer was
// reached over loopback: otherwise they name ports on this machine, not
// the peer's.
func reachableLike(addrs []ma.Multiaddr, used ma.Multiaddr) []ma.Multiaddr {
	if used != nil && manet.IsIPLoopback(used) {
		return addrs
	}
	var out []ma.Multiaddr
	for _, a := range addrs {
		if !manet.IsIPLoopback(a) {
			out = append(out, a)
		}
	}
	return out
}

// stringsOf is each of xs in its String form: addresses as the notebook
// keeps them, heads as the wire carries them.
func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}

// Share offers note id to the running peer at addr (ending in /p2p/<id>):
// an unsolicited sync carrying the whole note, which that peer keeps as a
// pending invitation, followed by our presence so it can tell who invites.
// It returns once both are written to the stream.
func (e *Engine) Share(ctx context.Context, id crdt.DocumentID, addr ma.Multiaddr) error {
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return fmt.Errorf("share %s: address needs a /p2p/<peer-id> part: %w", id, err)
	}
	ns, err := e.openNote(id)
	if err != nil {
		return fmt.Errorf("share %s: %w", id, err)
	}
	if !ns.hasBody() {
		return fmt.Errorf("share %s: %w", id, crdt.ErrNoBody)
	}
	data, err := ns.note.OfferSync()
	if err != nil {
		return fmt.Errorf("share %s: %w", id, err)
	}
	c, err := e.connect(ctx, *info)
	if err != nil {
		e.log.Debug("share failed", "note", id, "err", err, "cause", strings.Join(RawCauses(err), "; "))
		return plainOr(err, "share %s", id)
	}
	done := make(chan error, 2)
	c.sendDone(&wire.Sync{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(), Data: data, Epoch: ns.epochTag(c)}, done)
	c.sendDone(&wire.Ephemeral{SenderID: e.self, TargetID: c.remoteSender, DocumentID: id.String(),
		SessionID: e.session, Count: e.count.Add(1), Data: e.localPayload(ns)}, done)
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				return &PeerError{msg: fmt.Sprintf("couldn't offer the note to %s: the connection dropped; try again",
					e.whoAt(info.ID, c.s.Conn().RemoteMultiaddr())), cause: err}
			}
		case <-ctx.Done():
			return fmt.Errorf("share %s with %s: %w", id, e.who(info.ID), ctx.Err())
		}
	}
	e.log.Info("offered note", "note", id, "to", info.ID, "bytes", len(data))
	return nil
}

// Accept turns a pending invitation into a note: the offered copy (if the
// offer carried it) is stored at once, then the note is synced with the
// inviter, fetching it if the offer carried only its heads.
func (e *Engine) Accept(ctx context.Context, id crdt.DocumentID) error {
	inv, err := e.nb.Invitation(id)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	offer, err := e.nb.InvitationOffer(id)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	pid, err := peer.Decode(inv.FromPeer)
	if err != nil {
		return fmt.Errorf("accept %s: bad inviter id %q: %w", id, inv.FromPeer, err)
	}
	info := peer.AddrInfo{ID: pid}
	for _, s := range inv.Addrs {
		if len(info.Addrs) == notebook.MaxPeerAddrs {
			break // an invitation stored by an older version may hold hundreds
		}
		if a, err := ma.NewMultiaddr(s); err == nil {
			info.Addrs = append(info.Addrs, a)
		}
	}
	if err := e.join(ctx, id, []peer.AddrInfo{info}, offer, inv.FromPeer, false); err != nil {
		return plainOr(err, "accept")
	}
	e.invites.Lock()
	defer e.invites.Unlock()
	defer e.invitationsChanged()
	if err := e.nb.DeclineInvitation(id); err != nil && !errors.Is(err, notebook.ErrNoInvitation) {
		return err
	}
	e.log.Info("invitation accepted", "note", id, "from", pid)
	return nil
}

// unavailable says which peers answered that they lack the note.
func (e *Engine) unavailable(refused []*conn) error {
	names := make([]string, len(refused))
	keys := make([]string, len(refused))
	for i, c := range refused {
		names[i] = e.whoAt(c.pid, c.s.Conn().RemoteMultiaddr())
		keys[i] = c.peerKey
	}
	has := "doesn't"
	if len(names) > 1 {
		has = "don't"
	}
	return &PeerError{
		msg:   fmt.Sprintf("%s %s have this note (any more?): ask for a new ticket", display.List(names), has),
		kind:  ErrUnavailable,
		cause: fmt.Errorf("%w at %s", ErrUnavailable, strings.Join(keys, ", ")),
	}
}

// closedBeforeNote says that every connection closed before the note's
// text arrived.
func (e *Engine) closedBeforeNote(closed []*conn) error {
	names := make([]string, len(closed))
	reasons := make([]string, len(closed))
	for i, c := range closed {
		names[i] = e.whoAt(c.pid, c.s.Conn().RemoteMultiaddr())
		reasons[i] = c.pid.String() + ": " + c.closeReason()
	}
	return &PeerError{
		msg:   fmt.Sprintf("the connection to %s closed before the note arrived: try again", display.List(names)),
		kind:  ErrUnreachable,
		cause: errors.New(strings.Join(reasons, "; ")),
		retry: true,
	}
}

// replacement is the live stream that replaced the closed c to the same
// peer, or nil.
func (e *Engine) replacement(c *conn) *conn {
	e.mu.Lock()
	r := e.conns[c.pid]
	e.mu.Unlock()
	if r == nil || r == c || r.isClosed() {
		return nil
	}
	return r
}

// trashJoined closes a note a failed join created and moves it to the
// trash. Nothing opens it in between (a peer's heads for it arriving, say):
// a note reopened then would stay open on files the trash took.
func (e *Engine) trashJoined(ns *noteState) {
	id := ns.id
	removing := make(chan struct{})
	for {
		e.mu.Lock()
		wait := e.opening[id]
		if wait == nil {
			e.opening[id] = removing
			e.mu.Unlock()
			break
		}
		e.mu.Unlock()
		<-wait
	}
	defer func() {
		e.mu.Lock()
		delete(e.opening, id)
		close(removing)
		e.mu.Unlock()
	}()
	if err := e.dropNote(ns); err != nil {
		e.log.Warn("closing a failed join", "note", id, "err", err)
	}
	if err := e.nb.Trash(id); err != nil {
		e.log.Warn("removing a failed join", "note", id, "err", err)
	}
}
