package main

import (
	"strings"
	"testing"

	"github.com/collab-editor/collab/sync/engine"
)

// Issue 8: `collab peers` says "in sync" only for equal heads and shows a
// divergence in plain words, with whatever a peer could put in it made
// safe for the terminal.
func TestPeersSyncWords(t *testing.T) {
	for _, c := range []struct {
		p         engine.PeerStatus
		want, not string
	}{
		{engine.PeerStatus{Connected: true, InSync: true}, "in sync", "DIVERGED"},
		{engine.PeerStatus{Connected: true}, "syncing", "in sync"},
		{engine.PeerStatus{Connected: true, Diverged: "refused their change 3 of author c19e3144\x1b]0;pwned\x07"}, "DIVERGED: refused their change 3 of author c19e3144", "in sync"},
		{engine.PeerStatus{Connected: true, InSync: true, LastDivergence: "15:04:05 they hold a different change"}, "in sync (diverged earlier, recovered: 15:04:05 they hold a different change)", "DIVERGED"},
	} {
		got := syncWords(c.p)
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) || strings.ContainsAny(got, "\x1b\x07") {
			t.Errorf("syncWords(%+v) = %q; want %q, not %q, no control characters", c.p, got, c.want, c.not)
		}
	}
}
