package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/wire"
)

// protectTag marks collaborators in libp2p's connection manager.
const protectTag = "collab-sync"

// target is a known peer of some notes, re-dialled while the engine runs.
type target struct {
	id    peer.ID
	name  string         // what it calls itself (presence), "" if unknown
	addrs []ma.Multiaddr // confirmed or chosen: dialled at every attempt, kept on disk
	// claimsChecked: this session has dialled back (or decided not to)
	// the addresses it claims; see confirmClaims.
	claimsChecked bool
	notes         map[crdt.DocumentID]bool
	backoff       time.Duration
	next          time.Time
	failures      int
	dialing       bool
	// lastErr is why the latest redial failed, in plain words (a
	// PeerError's text), for `collab peers`; "" once connected.
	lastErr string
}

type dialCall struct {
	done chan struct{}
	c    *conn
	err  error
}

// addTarget records that pid shares note id, reachable at addrs.
func (e *Engine) addTarget(pid peer.ID, id crdt.DocumentID, addrs []string) {
	if pid == e.selfID {
		return
	}
	e.mu.Lock()
	t := e.targets[pid]
	if t == nil {
		t = &target{id: pid, notes: map[crdt.DocumentID]bool{}}
		e.targets[pid] = t
	}
	t.notes[id] = true
	var fresh []ma.Multiaddr
	for _, s := range addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			fresh = append(fresh, a)
		}
	}
	t.addrs = mergeAddrs(fresh, t.addrs)
	e.mu.Unlock()
	e.host.Protect(pid, protectTag)
}

// loadTargets reads the known peers of every note in the notebook.
func (e *Engine) loadTargets() error {
	ids, err := e.nb.IDs()
	if err != nil {
		return fmt.Errorf("list notes: %w", err)
	}
	var first error
	seen := map[peer.ID]time.Time{} // a name from the latest sighting wins
	for _, id := range ids {
		peers, err := e.nb.PeersOf(id)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		for _, k := range peers {
			pid, err := peer.Decode(k.ID)
			if err != nil {
				continue
			}
			e.addTarget(pid, id, k.Addrs)
			if name := cleanName(k.Name); name != "" && !k.LastSeen.Before(seen[pid]) {
				seen[pid] = k.LastSeen
				e.mu.Lock()
				if t := e.targets[pid]; t != nil {
					t.name = name
				}
				e.mu.Unlock()
			}
		}
	}
	return first
}

// IsKnownPeer reports whether pid is a known peer of some note (a
// collaborator): the host trusts such peers as relays, observers of its
// address and sources of peer records.
func (e *Engine) IsKnownPeer(pid peer.ID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.targets[pid]
	return ok
}

// knownPeer describes pid for a note's peers file: the addresses its live
// connections confirm (p2p.Host.ConfirmedAddrs: dialled with success;
// never what it merely claims), and its name if it told us one.
func (e *Engine) knownPeer(pid peer.ID) notebook.KnownPeer {
	addrs := e.host.ConfirmedAddrs(pid)
	return notebook.KnownPeer{ID: pid.String(), Name: e.PeerName(pid), Addrs: stringsOf(addrs[:min(len(addrs), notebook.MaxPeerAddrs)]),
		LastSeen: time.Now(), Epochs: e.followsEpochs(pid)}
}

// followsEpochs reports whether pid's live stream says it follows cut
// histories (epochs.go).
func (e *Engine) followsEpochs(pid peer.ID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.conns[pid]
	return c != nil && c.epochExt
}

// rememberPeer records pid as a peer of the note, on disk and for redial.
// chosen says the user named it (a ticket, an accepted invitation); extra
// are addresses the user gave for it.
func (e *Engine) rememberPeer(ns *noteState, pid peer.ID, chosen bool, extra ...string) {
	k := e.knownPeer(pid)
	k.Addrs = append(k.Addrs, extra...)
	k.Chosen = chosen
	if err := ns.note.RememberPeer(k); err != nil {
		e.log.Warn("cannot remember peer", "peer", pid, "note", ns.id, "err", err)
	}
	e.addTarget(pid, ns.id, k.Addrs)
	e.keepName(ns, pid, k.Name)
	e.confirmClaims(ns, pid)
}

// keepName keeps the name pid goes by with its target (and the note's
// known peers) now that it is a known peer of ns: nameLoop keeps only the
// names of peers that already were, and a peer that introduces itself
// once (a serve) may have done so before the join made it one; without
// this its name is forgotten when it disconnects ("the relay …1BcxPCSP
// is offline").
func (e *Engine) keepName(ns *noteState, pid peer.ID, stored string) {
	name := e.PeerName(pid)
	if name == "" {
		return
	}
	e.mu.Lock()
	if t := e.targets[pid]; t != nil {
		t.name = name
	}
	e.mu.Unlock()
	if name == stored {
		return
	}
	if err := ns.note.RememberPeer(notebook.KnownPeer{ID: pid.String(), Name: name, LastSeen: time.Now()}); err != nil {
		e.log.Warn("cannot remember a peer's name", "peer", pid, "note", ns.id, "err", err)
	}
}

// confirmClaims, once per session for a known peer that has only
// connected to us (so no address of it is confirmed), dials back the
// addresses it claims on the IP it came from (p2p.Host.VerifyAddrs) and
// keeps those where it answered. The dials run on a goroutine of their own.
func (e *Engine) confirmClaims(ns *noteState, pid peer.ID) {
	e.mu.Lock()
	t := e.targets[pid]
	check := t != nil && !t.claimsChecked
	if check {
		t.claimsChecked = true
	}
	e.mu.Unlock()
	if !check || len(e.host.ConfirmedAddrs(pid)) > 0 {
		return
	}
	e.spawn(func(ctx context.Context) {
		found := stringsOf(e.host.VerifyAddrs(ctx, pid))
		if len(found) == 0 {
			return
		}
		e.log.Debug("confirmed addresses a peer claims", "peer", pid, "addrs", found)
		if err := ns.note.RememberPeer(notebook.KnownPeer{ID: pid.String(), Addrs: found, LastSeen: time.Now()}); err != nil {
			e.log.Warn("cannot remember peer", "peer", pid, "note", ns.id, "err", err)
		}
		e.addTarget(pid, ns.id, found)
	})
}

// connect returns the live stream with a peer, dialling and handshaking if
// there is none (one attempt at a time per peer).
func (e *Engine) connect(ctx context.Context, info peer.AddrInfo) (*conn, error) {
	if _, err := e.runCtx(); err != nil {
		return nil, err
	}
	for {
		e.mu.Lock()
		if c := e.conns[info.ID]; c != nil && !c.isClosed() {
			e.mu.Unlock()
			return c, nil
		}
		if call := e.dialing[info.ID]; call != nil {
			e.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if call.err != nil {
				return nil, call.err
			}
			continue
		}
		call := &dialCall{done: make(chan struct{})}
		e.dialing[info.ID] = call
		e.mu.Unlock()

		call.c, call.err = e.dial(ctx, info)
		e.mu.Lock()
		delete(e.dialing, info.ID)
		e.mu.Unlock()
		close(call.done)
		return call.c, call.err
	}
}

func (e *Engine) dial(ctx context.Context, info peer.AddrInfo) (*conn, error) {
	if until, reason, ok := e.offences.refused(info.ID, time.Now()); ok {
		return nil, fmt.Errorf("dial %s: %w until %s (%s)", info.ID, ErrPeerRefused, until.Format(time.DateTime), reason)
	}
	if len(info.Addrs) > 0 {
		e.host.LibP2P().Peerstore().AddAddrs(info.ID, info.Addrs, time.Hour)
	}
	if err := e.host.ConnectPeer(ctx, info); err != nil {
		return nil, e.dialFailed(info.ID, err)
	}
	// A relayed connection (through a collaborator's relay) is "limited"
	// to libp2p; sync runs over it until a direct one replaces it.
	s, err := e.host.LibP2P().NewStream(network.WithAllowLimitedConn(ctx, "collab sync"), info.ID, wire.ProtocolID)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, e.streamFailed(info.ID, e.remoteAddr(info.ID), fmt.Errorf("open sync stream to %s: %w", info.ID, err))
	}
	c := e.newConn(s, true)
	if err := c.dialHandshake(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, e.streamFailed(info.ID, s.Conn().RemoteMultiaddr(), err)
	}
	if !e.spawn(func(context.Context) { c.serve() }) {
		c.close("engine stopping")
		return nil, ErrNotRunning
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	live := e.conns[info.ID]
	e.mu.Unlock()
	if live == nil || live.isClosed() {
		return nil, e.streamFailed(info.ID, s.Conn().RemoteMultiaddr(), fmt.Errorf("stream to %s closed: %s", info.ID, c.closeReason()))
	}
	return live, nil
}

func (e *Engine) wakeDialer() {
	select {
	case e.wakeDial <- struct{}{}:
	default:
	}
}

// dialLoop re-dials known peers that are not connected, with exponential
// backoff (capped at RedialMax) per peer.
// Its loop has presenceLoop's shape (tick or wake until ctx ends); the work
// per tick is all that differs, and is most of each.
func (e *Engine) dialLoop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-e.wakeDial:
		}
		now := time.Now()
		var due []peer.AddrInfo
		e.mu.Lock()
		inflight := 0
		for _, t := range e.targets {
			if t.dialing {
				inflight++
			}
		}
		for _, t := range e.targets {
			if inflight >= maxConcurrentDials {
				break
			}
			if c := e.conns[t.id]; (c != nil && !c.isClosed()) || t.dialing || now.Before(t.next) {
				continue
			}
			t.dialing = true
			inflight++
			due = append(due, peer.AddrInfo{ID: t.id, Addrs: slices.Clone(t.addrs)})
		}
		e.mu.Unlock()
		for _, info := range due {
			if !e.spawn(func(ctx context.Context) { e.redial(ctx, info) }) {
				return
			}
		}
	}
}

func (e *Engine) redial(ctx context.Context, info peer.AddrInfo) {
	e.forgetUnconfirmed(info)
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	_, err := e.connect(dctx, info)
	cancel()
	why := ""
	if err != nil && ctx.Err() == nil {
		why = e.failureText(info.ID, err) // before e.mu: it looks up the name
	}
	e.mu.Lock()
	t := e.targets[info.ID]
	if t == nil {
		e.mu.Unlock()
		return
	}
	t.dialing = false
	if err == nil {
		t.backoff, t.failures, t.lastErr = 0, 0, ""
		e.mu.Unlock()
		return
	}
	t.failures++
	if why != "" {
		t.lastErr = why
	}
	t.backoff = min(max(2*t.backoff, time.Second), e.cfg.RedialMax)
	wait := t.backoff/2 + rand.N(t.backoff/2+1)
	t.next = time.Now().Add(wait)
	failures := t.failures
	var notes []crdt.DocumentID
	for id := range t.notes {
		notes = append(notes, id)
	}
	e.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if failures == 1 {
		e.log.Info("known peer unreachable; retrying with backoff", "peer", info.ID, "err", err)
		e.log.Debug("redial failed", "peer", info.ID, "cause", strings.Join(RawCauses(err), "; "))
		for _, id := range notes {
			ns := e.opened(id)
			if ns != nil {
				e.noteStatusChanged(ns)
			}
		}
	} else {
		e.log.Debug("redial failed", "peer", info.ID, "err", err, "cause", strings.Join(RawCauses(err), "; "), "next", wait.Round(time.Millisecond))
	}
}

// forgetUnconfirmed drops the addresses libp2p keeps for a peer that is
// not connected beyond info.Addrs (the confirmed or chosen ones), so that a
// redial does not dial them: libp2p keeps what a peer claimed (identify)
// for 15 minutes after it disconnects, and the redial loop would try those
// claims again at every attempt. Addresses that collaborators report for
// the peer (ConnectPeer's fallback) are fetched afresh.
func (e *Engine) forgetUnconfirmed(info peer.AddrInfo) {
	if e.host.Connected(info.ID) {
		return
	}
	ps := e.host.LibP2P().Peerstore()
	for _, a := range ps.Addrs(info.ID) {
		if !slices.ContainsFunc(info.Addrs, a.Equal) {
			ps.SetAddr(info.ID, a, 0)
		}
	}
}

// mergeAddrs is fresh followed by the old addresses not among them, at most
// notebook.MaxPeerAddrs: the least recently confirmed go first.
func mergeAddrs(fresh, old []ma.Multiaddr) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, a := range slices.Concat(fresh, old) {
		if len(out) == notebook.MaxPeerAddrs {
			break
		}
		if !slices.ContainsFunc(out, a.Equal) {
			out = append(out, a)
		}
	}
	return out
}

// discoveryLoop follows mDNS finds: the host has connected them already. A
// find that is a known peer of some note is synced with (at once, whatever
// its backoff); strangers are left alone: no note ID is ever sent to them.
func (e *Engine) discoveryLoop(ctx context.Context) {
	ch := e.host.Discovered()
	for {
		select {
		case <-ctx.Done():
			return
		case info, ok := <-ch:
			if !ok {
				return
			}
			e.mu.Lock()
			t := e.targets[info.ID]
			if t != nil {
				// The host connected to these: confirmed.
				t.addrs = mergeAddrs(info.Addrs, t.addrs)
				t.next = time.Time{}
				t.backoff = 0
			}
			e.mu.Unlock()
			if t != nil {
				e.log.Info("found a known peer on the LAN", "peer", info.ID, "addrs", info.Addrs)
				e.wakeDialer()
			} else {
				e.log.Debug("found a peer on the LAN that shares no note with us", "peer", info.ID)
			}
		}
	}
}
