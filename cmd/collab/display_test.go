package main

import (
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
)

// TestPeerStringsReachTheTerminalInert: a title and a name a peer chose
// are printed without the escape sequences, control and bidirectional
// characters in them, and two unnamed inviters do not look alike.
func TestPeerStringsReachTheTerminalInert(t *testing.T) {
	home := t.TempDir()
	nb, err := notebook.Open(home, "me")
	if err != nil {
		t.Fatal(err)
	}
	hostile := crdt.NewDocumentID()
	for i, inv := range []notebook.Invitation{
		{DocumentID: hostile, Title: "\x1b[2J\x1b]0;pwned\x07Plans\u202Egnp.exe\nsecond line", FromName: "\x1b[31mmallory\x1b[0m",
			FromPeer: "12D3KooWAnnXqL7nN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkA4Tu7Xz"},
		{DocumentID: crdt.NewDocumentID(), Title: "one", FromPeer: "12D3KooWAnnXqL7nN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkA4Tu7Xz"},
		{DocumentID: crdt.NewDocumentID(), Title: "two", FromPeer: "12D3KooWBobYv2n8mN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkPq2Lm1"},
	} {
		inv.Received = time.Unix(int64(100-i), 0)
		if err := nb.PutInvitation(inv, nil); err != nil {
			t.Fatal(err)
		}
	}
	out := binOK(t, home, "invites")
	if strings.ContainsAny(out, "\x1b\x07\u202E") {
		t.Fatalf("control characters reached the terminal: %q", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "Plansgnp.exe second line") || !strings.Contains(lines[0], "from mallory") {
		t.Fatalf("invites:\n%s", out)
	}
	if !strings.Contains(lines[1], "from …kA4Tu7Xz") || !strings.Contains(lines[2], "from …GkPq2Lm1") {
		t.Fatalf("unnamed inviters not told apart:\n%s", out)
	}
}
