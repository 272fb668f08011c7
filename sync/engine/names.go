package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// Messages about peers name the person and the place ("couldn't reach ann
// on this machine (port 4747): is collab running there?"), never a peer ID
// or libp2p's words. The name is what the peer last said of itself in
// presence (or in the invitation it sent), kept with the note's known peers
// so that it is there while the peer is offline.

// maxNameRunes bounds a peer's name as kept and shown.
const maxNameRunes = 64

// cleanName is a name a peer sent, made one plain line of bounded length.
func cleanName(s string) string { return firstRunes(display.Line(s), maxNameRunes) }

// PeerName is the name peer pid goes by, or "" when it never said: from
// its presence in an open note, the known peers of the notes, or an
// invitation it sent. Safe to show (one plain line, at most 64 runes).
func (e *Engine) PeerName(pid peer.ID) string {
	e.mu.Lock()
	var name string
	if t := e.targets[pid]; t != nil {
		name = t.name
	}
	notes := make([]*noteState, 0, len(e.notes))
	for _, ns := range e.notes {
		notes = append(notes, ns)
	}
	e.mu.Unlock()
	key := pid.String() // base58: not once per note
	for _, ns := range notes {
		if n := cleanName(ns.pres.nameOf(key)); n != "" {
			return n
		}
	}
	if name != "" {
		return name
	}
	for _, inv := range e.Invitations() {
		if inv.FromPeer == pid.String() {
			if n := cleanName(inv.FromName); n != "" {
				return n
			}
		}
	}
	return ""
}

// who names pid in a message: its name, else "the peer …a1b2c3".
func (e *Engine) who(pid peer.ID) string {
	if n := e.PeerName(pid); n != "" {
		return n
	}
	return "the peer " + display.ID(pid.String())
}

// nameOf is the name sender last gave in this note's presence.
func (p *presenceState) nameOf(sender string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Only what the peer said itself on its own stream: a relayed
	// presence is another peer's claim about it.
	if r := p.remote[sender]; r != nil && r.via != nil && r.via.peerKey == sender {
		return r.name
	}
	return ""
}

// nameLoop keeps the names known peers give in presence with the note's
// known peers (once per change of name, not per presence message).
func (e *Engine) nameLoop(ctx context.Context) {
	type heard struct {
		note crdt.DocumentID
		peer string
	}
	ch := make(chan heard, 32)
	cancel := e.Subscribe(func(ev Event) {
		if ev.Kind != PresenceChanged || ev.Peer == "" {
			return
		}
		select { // presence repeats: a dropped hint comes again
		case ch <- heard{ev.Note, ev.Peer}:
		default:
		}
	})
	defer cancel()
	for {
		var h heard
		select {
		case <-ctx.Done():
			return
		case h = <-ch:
		}
		pid, err := peer.Decode(h.peer)
		if err != nil {
			continue
		}
		e.mu.Lock()
		ns := e.notes[h.note]
		e.mu.Unlock()
		if ns == nil {
			continue
		}
		name := cleanName(ns.pres.nameOf(h.peer))
		e.mu.Lock()
		t := e.targets[pid]
		learnt := name != "" && t != nil && t.notes[h.note] && t.name != name
		if learnt {
			t.name = name
		}
		e.mu.Unlock()
		if !learnt {
			continue
		}
		if err := ns.note.RememberPeer(notebook.KnownPeer{ID: h.peer, Name: name, LastSeen: time.Now()}); err != nil {
			e.log.Warn("cannot remember a peer's name", "peer", pid, "note", h.note, "err", err)
		}
	}
}

// PeerError is a failure with a peer told in plain words: the person's
// name and the place, and what to do. The raw cause (libp2p's words) is
// kept for the log and --log-level debug: see RawCauses.
type PeerError struct {
	msg   string
	kind  error // ErrUnreachable, ErrUnavailable, or nil
	cause error
	// final: trying again later cannot help (the peer speaks another
	// protocol, refuses us, or is this peer itself).
	final bool
	// retry: of a failed join, some peer may answer later (see
	// retryLater): Join keeps it pending.
	retry bool
}

func (e *PeerError) Error() string { return e.msg }

func (e *PeerError) Unwrap() []error {
	var out []error
	for _, err := range []error{e.kind, e.cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Raw is the underlying error's own text.
func (e *PeerError) Raw() string {
	if e.cause == nil {
		return ""
	}
	if causes := RawCauses(e.cause); len(causes) > 0 {
		return strings.Join(causes, "; ")
	}
	return e.cause.Error()
}

// RawCauses lists the raw (libp2p, stream) causes behind err's plain words,
// for --log-level debug and the log; nil when err carries none.
func RawCauses(err error) []string {
	if err == nil {
		return nil
	}
	if r, ok := err.(interface{ Raw() string }); ok {
		if s := r.Raw(); s != "" {
			return []string{s}
		}
		return nil
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []string
		for _, e := range u.Unwrap() {
			out = append(out, RawCauses(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		return RawCauses(u.Unwrap())
	}
	return nil
}

// plainOr returns err itself if it is already told in plain words (a
// PeerError), else err with the operation's context.
func plainOr(err error, format string, args ...any) error {
	var pe *PeerError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// failureText is why reaching pid failed, as a person should read it: a
// PeerError's own words, else the plain failure naming the peer (raw
// libp2p text never reaches it).
func (e *Engine) failureText(pid peer.ID, err error) string {
	var pe *PeerError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("couldn't reach %s: no answer in time", e.who(pid))
	}
	return fmt.Sprintf("couldn't reach %s", e.who(pid))
}

// dialFailed tells why pid could not be reached, naming it.
func (e *Engine) dialFailed(pid peer.ID, err error) *PeerError {
	var de *p2p.DialError
	if !errors.As(err, &de) {
		return &PeerError{msg: fmt.Sprintf("couldn't reach %s", e.who(pid)), cause: err}
	}
	relay := ""
	if de.Relay != "" {
		relay = e.PeerName(de.Relay)
	}
	return &PeerError{msg: de.Explain(e.who(pid), relay), cause: err}
}

// streamFailed tells that pid answered but the sync conversation could not
// start (step says which part failed).
func (e *Engine) streamFailed(pid peer.ID, at ma.Multiaddr, err error) *PeerError {
	where := ""
	if p := p2p.Place(at, ""); p != "" {
		where = " " + p
	}
	why, final := "the connection failed; try again", true
	switch s := err.Error(); {
	case strings.Contains(s, "protocols not supported"), strings.Contains(s, "protocol not supported"):
		// Not final: a collab that is starting answers libp2p a moment
		// before its sync handler is set up.
		why, final = "something answered there, but not collab's sync (yet)", false
	case errors.Is(err, wire.ErrUnsupportedVersion):
		// The versions each side speaks, as the handshake put them.
		_, detail, _ := strings.Cut(s, wire.ErrUnsupportedVersion.Error())
		if detail = strings.TrimLeft(detail, ": "); detail != "" {
			detail = " (" + detail + ")"
		}
		why = "their collab speaks another version of the sync protocol" + detail + ": update collab on both sides"
	case strings.Contains(s, "refused"):
		why = "they refused the connection"
	default:
		final = false
	}
	return &PeerError{msg: fmt.Sprintf("couldn't sync with %s%s: %s", e.who(pid), where, why), cause: err, final: final}
}

// remoteAddr is the address of the live connection to pid, or nil.
func (e *Engine) remoteAddr(pid peer.ID) ma.Multiaddr {
	for _, c := range e.host.LibP2P().Network().ConnsToPeer(pid) {
		return c.RemoteMultiaddr()
	}
	return nil
}

// whoAt names pid and where it is connected, for messages: "ann on this
// machine (port 4747)".
func (e *Engine) whoAt(pid peer.ID, at ma.Multiaddr) string {
	if p := p2p.Place(at, ""); p != "" {
		return e.who(pid) + " " + p
	}
	return e.who(pid)
}
