package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/notebook"
)

// idOutput runs `collab id` on the notebook at home.
func idOutput(t *testing.T, home string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{"id", "--home", home}, &env{stdout: &out, stderr: &errOut}); code != 0 {
		t.Fatalf("collab id: exit %d: %s", code, errOut.String())
	}
	return out.String()
}

// checkIDHead: the output still starts with the peer ID and an address,
// the first two fields scripts and tests read.
func checkIDHead(t *testing.T, out, id string) {
	t.Helper()
	f := strings.Fields(out)
	if len(f) < 2 || f[0] != id {
		t.Fatalf("collab id does not start with the peer ID %s:\n%s", id, out)
	}
	if _, err := ma.NewMultiaddr(f[1]); err != nil {
		t.Errorf("collab id's second field %q is no address (%v):\n%s", f[1], err, out)
	}
}

// Issue 11, "say why": `collab id` lists each collaborator with how it is
// reached (direct on the LAN here) or, once it is gone, why it cannot be
// reached in plain words; with no collab process running it says in one
// line that it does not know, and dials nobody.
func TestIDSaysHowEachCollaboratorIsReached(t *testing.T) {
	ann, annNB, _ := startLoopbackPeer(t, "ann")
	bob, _, stopBob := startLoopbackPeer(t, "bob")
	serveControlOf(t, annNB, ann)
	annID := ann.host.ID().String()
	waitFor(t, 10*time.Second, "ann's control socket", func() bool {
		_, err := callControl(context.Background(), annNB.Dir(), controlRequest{Op: "id"}, nil)
		return err == nil
	})

	out := idOutput(t, annNB.Dir())
	checkIDHead(t, out, annID)
	if !strings.Contains(out, "collaborators: none yet") {
		t.Errorf("collab id before sharing anything:\n%s", out)
	}

	id := mustCreate(t, annNB, "Plan")
	jctx, jcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer jcancel()
	if err := bob.engine.Join(jctx, id, ann.host.Addrs()); err != nil {
		t.Fatalf("bob joins: %v", err)
	}
	bob.engine.SetCursorContext(id, 0, 0, "", "") // his presence carries his name
	port, err := bob.host.ListenAddrs()[0].ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "ann's collab id to show bob on the LAN", func() bool {
		out = idOutput(t, annNB.Dir())
		return lineWith(out, "bob") == "bob  direct (LAN)"
	})
	checkIDHead(t, out, annID)

	stopBob()
	want := "bob  unreachable: couldn't reach bob on this machine (port " + port + "): is collab running there?"
	waitFor(t, 20*time.Second, "ann's collab id to say why bob is unreachable", func() bool {
		out = idOutput(t, annNB.Dir())
		return lineWith(out, "bob") == want
	})
	checkIDHead(t, out, annID)
	for _, raw := range libp2pWords[:4] {
		if strings.Contains(lineWith(out, "bob"), raw) {
			t.Errorf("libp2p's words (%q) in collab id: %q", raw, out)
		}
	}

	// No collab process on bob's notebook: one line, nobody dialled.
	offline, err := notebook.Open(t.TempDir(), "cat")
	if err != nil {
		t.Fatal(err)
	}
	out = idOutput(t, offline.Dir())
	if !strings.HasSuffix(out, "\n"+noCollaboratorsLine) || strings.Count(out, "collaborators") != 1 {
		t.Errorf("collab id with no collab process running:\n%s", out)
	}
	if f := strings.Fields(out); len(f) < 2 {
		t.Errorf("collab id with no collab process running:\n%s", out)
	} else if _, err := ma.NewMultiaddr(f[1]); err != nil {
		t.Errorf("collab id's second field %q is no address:\n%s", f[1], out)
	}
}

// lineWith is the first line of out that mentions s, trimmed.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// startLoopbackPeer runs a peer (the runtime `collab serve` runs) on a new
// notebook, listening on loopback only; stop ends it once (also at the
// test's end).
func startLoopbackPeer(t *testing.T, name string) (rt *peerRuntime, nb *notebook.Notebook, stop func()) {
	t.Helper()
	nb, err := notebook.Open(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	rt, err = startPeer(context.Background(), nb, peerFlags{listen: multiFlag{"/ip4/127.0.0.1/tcp/0"}, logLevel: "info"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := rt.stop(); err != nil {
				t.Errorf("%s: stop: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return rt, nb, stop
}

// serveControlOf answers the notebook's control socket for rt, as a
// running collab does, until the test ends.
func serveControlOf(t *testing.T, nb *notebook.Notebook, rt *peerRuntime) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveControl(ctx, nb.Dir(), controlHandlerFor(rt)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
