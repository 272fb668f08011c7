package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
)

// relayAllowList is the peers the user allowed with `collab relay allow`,
// as a running peer sees them: reread when the settings file changes
// (checked at most once a second), so that `collab relay allow` in
// another shell takes effect without a restart.
type relayAllowList struct {
	nb *notebook.Notebook

	mu      sync.Mutex
	checked time.Time
	stamp   int64
	allowed map[peer.ID]bool
}

func (l *relayAllowList) has(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.checked) >= time.Second {
		l.checked = now
		// A stat, and a small read when it changed: the relay asks once
		// per reservation or circuit, not per byte.
		if stamp, err := l.nb.RelaySettingsStamp(); err == nil && (stamp != l.stamp || l.allowed == nil) {
			l.stamp = stamp
			s, _ := l.nb.RelaySettings() // unreadable: nobody beyond collaborators
			l.allowed = map[peer.ID]bool{}
			for _, id := range s.Allowed {
				if pid, err := peer.Decode(id); err == nil {
					l.allowed[pid] = true
				}
			}
		}
	}
	return l.allowed[p]
}

// cmdRelay shows or changes whom this notebook's peer relays for.
func cmdRelay(e *env, args []string) error {
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	s, err := nb.RelaySettings()
	if err != nil {
		// Shown, and replaced by what this command writes.
		fmt.Fprintf(e.stderr, "collab: %v (starting from: off, nobody allowed)\n", err)
		s = notebook.RelaySettings{}
	}
	if len(args) == 0 {
		return printRelay(e, nb, s)
	}
	switch verb, ids := args[0], args[1:]; verb {
	case "on", "off":
		if err := wantArgs(ids, 0, 0, "nothing after "+verb); err != nil {
			return err
		}
		s.On = verb == "on"
	case "allow", "deny":
		if err := wantArgs(ids, 1, notebook.MaxRelayAllowed, "one or more peer IDs"); err != nil {
			return err
		}
		for _, id := range ids {
			pid, err := peer.Decode(id)
			if err != nil {
				return usagef("%q is not a peer ID (collab id prints one)", display.Line(id))
			}
			if verb == "allow" {
				s.Allowed = append(s.Allowed, pid.String())
			} else {
				s.Allowed = slices.DeleteFunc(s.Allowed, func(x string) bool { return x == pid.String() })
			}
		}
	default:
		return usagef("collab relay: expected on, off, allow PEER… or deny PEER…, not %q", display.Line(verb))
	}
	if err := nb.SetRelaySettings(s); err != nil {
		return err
	}
	return printRelay(e, nb, s)
}

func printRelay(e *env, nb *notebook.Notebook, s notebook.RelaySettings) error {
	w := e.stdout
	if s.On {
		fmt.Fprintln(w, "relay: on (collab serve relays for your collaborators and the peers below)")
	} else {
		fmt.Fprintln(w, "relay: off (collab serve --relay, or collab relay on, relays for your collaborators and the peers below)")
	}
	if len(s.Allowed) == 0 {
		fmt.Fprintln(w, "allowed beyond your collaborators: nobody")
	} else {
		fmt.Fprintln(w, "allowed beyond your collaborators:")
		for _, id := range s.Allowed {
			fmt.Fprintf(w, "  %s\n", id)
		}
	}
	var uses []relayUse
	_, err := callControl(context.Background(), nb.Dir(), controlRequest{Op: "relay"}, &uses)
	if err != nil {
		fmt.Fprintln(w, "relaying for: (no collab process is running for this notebook)")
		return nil
	}
	printRelayUses(w, uses)
	return nil
}

// relayUse is p2p.RelayUse as the control socket carries it, with the
// name the peer goes by.
type relayUse struct {
	Peer     string    `json:"peer"`
	Name     string    `json:"name,omitempty"`
	Reserved bool      `json:"reserved"`
	Expires  time.Time `json:"expires"`
	Circuits int       `json:"circuits"`
}

func opRelay(_ context.Context, rt *peerRuntime, _ controlRequest) (string, any, error) {
	var out []relayUse
	for _, u := range rt.host.RelayingFor() {
		out = append(out, relayUse{Peer: u.Peer.String(), Name: rt.engine.PeerName(u.Peer),
			Reserved: u.Reserved, Expires: u.Expires, Circuits: u.Circuits})
	}
	if out == nil {
		out = []relayUse{}
	}
	return "", out, nil
}

func printRelayUses(w io.Writer, uses []relayUse) {
	if len(uses) == 0 {
		fmt.Fprintln(w, "relaying for: nobody now")
		return
	}
	fmt.Fprintln(w, "relaying for:")
	for _, u := range uses {
		var what []string
		if u.Reserved {
			what = append(what, "holds a slot until "+u.Expires.Local().Format("15:04"))
		}
		if u.Circuits > 0 {
			what = append(what, fmt.Sprintf("%d relayed connection(s)", u.Circuits))
		}
		fmt.Fprintf(w, "  %s %s: %s\n", display.Line(orDash(u.Name)), u.Peer, strings.Join(what, ", "))
	}
}
