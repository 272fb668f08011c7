package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/sync/engine"
)

// startEngine runs collab's real sync engine on a loopback host over a
// notebook in a temp dir, stopped when the test ends.
func startEngine(t *testing.T) (*engine.Engine, *notebook.Notebook, string) {
	t.Helper()
	h, addr := startGoHost(t)
	nb, err := notebook.Open(t.TempDir(), "collab")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{Host: h, Notebook: nb, Name: "collab"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	select {
	case <-e.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not start")
	}
	return e, nb, addr
}

func waitNoteText(t *testing.T, n *notebook.Note, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text, err := n.Text()
		if err == nil && strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("collab's text never contained %q; it is %q", want, text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNodeRepoAndCollabEngine: a real automerge-repo (Node, js-libp2p) and
// collab's engine. JS finds a note collab created; a note JS created and
// announced reaches collab as an invitation, which accepting stores; edits,
// concurrent ones included, converge both ways on both notes.
func TestNodeRepoAndCollabEngine(t *testing.T) {
	np := startNodePeer(t)
	e, nb, addr := startEngine(t)

	created, err := nb.Create("From collab ☃")
	if err != nil {
		t.Fatal(err)
	}
	created.Splice(0, 0, "héllo from collab 👍🏽\n")
	if err := created.Close(); err != nil {
		t.Fatal(err)
	}
	id := created.ID

	np.Dial(addr)
	ev := np.Find(id.URL(), 20*time.Second)
	if ev.Event != "found" || ev.Title != "From collab ☃" || ev.Text != "héllo from collab 👍🏽\n" {
		t.Fatalf("JS find of collab's note: %+v", ev)
	}
	t.Logf("JS found collab's note in %d ms", ev.Ms)

	note, err := e.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	// JS → collab.
	np.Splice(id.URL(), 6, 0, "and JS ")
	if got := waitNoteText(t, note, "and JS", 10*time.Second); got != "héllo and JS from collab 👍🏽\n" {
		t.Fatalf("collab's text after the JS edit: %q", got)
	}
	// collab → JS.
	end := note.Len()
	note.Splice(end, 0, "bye\n")
	note.Kick()
	if got, ok := np.WaitText(id.URL(), "bye", 10*time.Second); !ok || got != "héllo and JS from collab 👍🏽\nbye\n" {
		t.Fatalf("JS text after collab's edit: %q (arrived: %v)", got, ok)
	}
	// Concurrent edits converge.
	note.Splice(0, 0, "[go]")
	note.Kick()
	np.Splice(id.URL(), 0, 0, "[js]")
	goText := waitNoteText(t, note, "[js]", 10*time.Second)
	if !strings.Contains(goText, "[go]") {
		t.Fatalf("collab lost its own edit: %q", goText)
	}
	if got, ok := np.WaitText(id.URL(), "[go]", 10*time.Second); !ok || got != goText {
		t.Fatalf("diverged: JS %q, collab %q", got, goText)
	}

	// A note created in JS and announced to collab waits as an invitation.
	jsURL := np.Create("From JS", "written in node\n")
	jsID, err := crdt.ParseDocumentID(jsURL)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		invs := e.Invitations()
		// JS announces with heads alone; the engine asks for the changes
		// so the invitation can show the title.
		if len(invs) == 1 && invs[0].DocumentID == jsID && invs[0].Title == "From JS" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invitation for the JS note; invitations: %+v", invs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ids, _ := nb.IDs(); len(ids) != 1 {
		t.Fatalf("the JS note was stored before it was accepted: %v", ids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Accept(ctx, jsID); err != nil {
		t.Fatal(err)
	}
	jsNote, err := e.Open(jsID)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitNoteText(t, jsNote, "written in node", 10*time.Second); got != "written in node\n" || jsNote.Title() != "From JS" {
		t.Fatalf("accepted JS note: %q %q", got, jsNote.Title())
	}
	jsNote.Splice(0, 0, "collab was here\n")
	jsNote.Kick()
	if got, ok := np.WaitText(jsURL, "collab was here", 10*time.Second); !ok || got != "collab was here\nwritten in node\n" {
		t.Fatalf("JS side of its own note: %q (arrived: %v)", got, ok)
	}
	np.Splice(jsURL, 0, 0, "js again\n")
	waitNoteText(t, jsNote, "js again", 10*time.Second)
}
