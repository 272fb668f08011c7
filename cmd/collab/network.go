package main

import (
	"context"
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/engine"
	"github.com/collab-editor/collab/tui"
)

// netAdapter shows the sync engine to the terminal app as a tui.Network.
type netAdapter struct {
	rt     *peerRuntime
	events chan any
	cancel func()
	mu     sync.Mutex // closed, and sends on events
	closed bool
}

func newNetAdapter(rt *peerRuntime) *netAdapter {
	a := &netAdapter{rt: rt, events: make(chan any, 1)}
	a.cancel = rt.engine.Subscribe(func(ev engine.Event) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.closed {
			return
		}
		select { // a hint: one pending value is enough, the app re-reads
		case a.events <- ev:
		default:
		}
	})
	return a
}

// close stops the events and closes their channel, which ends the app's
// command waiting on it.
func (a *netAdapter) close() {
	a.cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.events)
	}
}

func (a *netAdapter) Open(id crdt.DocumentID) (*notebook.Note, error) { return a.rt.engine.Open(id) }

func (a *netAdapter) Peers(id crdt.DocumentID) []tui.Peer {
	var out []tui.Peer
	for _, p := range a.rt.engine.Peers(id) {
		out = append(out, tui.Peer{ID: p.ID, Name: p.Name, Connected: p.Connected, InNote: p.InNote, InSync: p.InSync, Diverged: p.Diverged, Path: p.Path, Problem: p.Problem})
	}
	return out
}

func (a *netAdapter) Status(id crdt.DocumentID) tui.SyncStatus {
	switch a.rt.engine.Status(id) {
	case engine.InSync:
		return tui.InSync
	case engine.Syncing:
		return tui.Syncing
	case engine.Unreachable:
		return tui.Unreachable
	case engine.Diverged:
		return tui.Diverged
	}
	return tui.Offline
}

func (a *netAdapter) Presence(id crdt.DocumentID) []tui.Presence {
	var out []tui.Presence
	for _, p := range a.rt.engine.Presence(id) {
		if !p.HasCursor {
			continue
		}
		out = append(out, tui.Presence{Peer: p.Peer, Name: p.Name, Color: p.Color, Cursor: p.Cursor, Anchor: p.Anchor})
	}
	return out
}

func (a *netAdapter) ClearCursor(id crdt.DocumentID) { a.rt.engine.ClearCursor(id) }

func (a *netAdapter) SetCursor(id crdt.DocumentID, cursor, anchor int, before, after string) {
	a.rt.engine.SetCursorContext(id, cursor, anchor, before, after)
}

func (a *netAdapter) Invite(id crdt.DocumentID) (string, error) {
	t, err := inviteTicket(a.rt, id)
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

func (a *netAdapter) Join(ctx context.Context, s string) (crdt.DocumentID, error) {
	id, err := joinTicket(ctx, a.rt, []string{s})
	if errors.Is(err, engine.ErrJoinPending) {
		err = pendingForTUI{err}
	}
	return id, err
}

// pendingForTUI is the engine's pending join error as the app knows it
// (tui.ErrJoinPending), with the same words.
type pendingForTUI struct{ error }

func (p pendingForTUI) Is(target error) bool { return target == tui.ErrJoinPending }

func (p pendingForTUI) Unwrap() error { return p.error }

func (a *netAdapter) PendingJoins() []tui.PendingJoin {
	var out []tui.PendingJoin
	for _, j := range a.rt.engine.PendingJoins() {
		out = append(out, tui.PendingJoin{ID: j.DocumentID, From: a.inviterName(j), NextTry: j.NextTry, Failed: j.Failed, Why: j.LastError})
	}
	return out
}

func (a *netAdapter) CancelJoin(id crdt.DocumentID) error { return a.rt.engine.CancelJoin(id) }

// inviterName is who a pending join waits for: the name the engine knows
// the peer by, else the end of its ID.
func (a *netAdapter) inviterName(j notebook.PendingJoin) string {
	for _, s := range j.Addrs {
		if m, err := ma.NewMultiaddr(s); err == nil {
			if info, err := peer.AddrInfoFromP2pAddr(m); err == nil {
				return display.Name(a.rt.engine.PeerName(info.ID), info.ID.String())
			}
		}
	}
	return "the inviter"
}

func (a *netAdapter) Invitations() []tui.Invitation {
	var out []tui.Invitation
	for _, inv := range a.rt.engine.Invitations() {
		out = append(out, tui.Invitation{ID: inv.DocumentID, Title: inv.Title, From: display.Name(inv.FromName, inv.FromPeer)})
	}
	return out
}

func (a *netAdapter) Accept(ctx context.Context, id crdt.DocumentID) error {
	return a.rt.engine.Accept(ctx, id)
}

func (a *netAdapter) Decline(id crdt.DocumentID) error { return a.rt.engine.Decline(id) }

func (a *netAdapter) Events() <-chan any { return a.events }
