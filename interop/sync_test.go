package interop

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// noteResponder is a deliberately tiny stand-in for collab's sync engine:
// one note, one peer stream, the automerge sync protocol run on every
// request/sync for that note (crdt.Note's sync API over automerge-go) and
// after every local edit. Everything else is answered as PROTOCOL.md says
// (doc-unavailable for other requests, unsolicited syncs ignored). It exists
// to show that sync payloads cross our wire both ways with a real JS repo
// before the engine is done; the engine's own interop test replaces it.
type noteResponder struct {
	self string
	id   crdt.DocumentID
	note *crdt.Note

	mu     sync.Mutex // serializes the sync state and writes
	state  *crdt.SyncState
	fw     *wire.FrameWriter
	remote string // the JS repo's senderId
	errs   chan error
}

func newNoteResponder(t *testing.T, h *p2p.Host, id crdt.DocumentID, note *crdt.Note) *noteResponder {
	r := &noteResponder{self: h.ID().String(), id: id, note: note, state: note.NewSyncState(), errs: make(chan error, 8)}
	h.LibP2P().SetStreamHandler(wire.ProtocolID, r.handle)
	return r
}

func (r *noteResponder) fail(err error) {
	select {
	case r.errs <- err:
	default:
	}
}

func (r *noteResponder) handle(s network.Stream) {
	defer s.Close()
	fr, fw := wire.NewFrameReader(s), wire.NewFrameWriter(s)
	m, err := fr.ReadMessage()
	join, ok := m.(*wire.Join)
	if err != nil || !ok {
		r.fail(fmt.Errorf("expected join: %v %T", err, m))
		_ = s.Reset()
		return
	}
	r.mu.Lock()
	r.fw, r.remote = fw, join.SenderID
	err = fw.WriteMessage(&wire.Peer{SenderID: r.self, TargetID: join.SenderID, SelectedProtocolVersion: wire.ProtocolVersion})
	r.mu.Unlock()
	if err != nil {
		r.fail(err)
		return
	}
	for {
		m, err := fr.ReadMessage()
		if err != nil {
			return // end of the test (or of the JS process)
		}
		var docID string
		var data []byte
		switch m := m.(type) {
		case *wire.Request:
			docID, data = m.DocumentID, m.Data
		case *wire.Sync:
			docID, data = m.DocumentID, m.Data
		default:
			continue
		}
		if docID != r.id.String() {
			if _, isReq := m.(*wire.Request); isReq {
				r.mu.Lock()
				err = fw.WriteMessage(&wire.DocUnavailable{SenderID: r.self, TargetID: r.remote, DocumentID: docID})
				r.mu.Unlock()
			}
			if err != nil {
				r.fail(err)
				return
			}
			continue // an announcement: an invitation, not answered
		}
		r.mu.Lock()
		_, err = r.note.ReceiveSyncMessage(r.state, data)
		if err == nil {
			err = r.pushLocked()
		}
		r.mu.Unlock()
		if err != nil {
			r.fail(err)
			return
		}
	}
}

// push sends whatever the sync protocol says the JS side still needs.
func (r *noteResponder) push() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pushLocked()
}

func (r *noteResponder) pushLocked() error {
	if r.fw == nil {
		return nil
	}
	for {
		msg, ok, err := r.note.GenerateSyncMessage(r.state)
		if err != nil || !ok {
			return err
		}
		if err := r.fw.WriteMessage(&wire.Sync{SenderID: r.self, TargetID: r.remote, DocumentID: r.id.String(), Data: msg}); err != nil {
			return err
		}
	}
}

// waitText polls the Go note until its text contains want.
func (r *noteResponder) waitText(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text, err := r.note.Text()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, want) {
			return text
		}
		select {
		case err := <-r.errs:
			t.Fatalf("Go side: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Go note never contained %q; text %q", want, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNodeRepoSyncsWithAutomergeGo: a JS automerge-repo finds a note held by
// automerge-go behind collab's wire layer, and edits cross both ways,
// including concurrent ones, until both sides read the same text.
func TestNodeRepoSyncsWithAutomergeGo(t *testing.T) {
	np := startNodePeer(t)
	h, addr := startGoHost(t)

	note, err := crdt.New("Go note ☃", "go")
	if err != nil {
		t.Fatal(err)
	}
	if err := note.Splice(0, 0, "héllo from go 👍🏽\n"); err != nil {
		t.Fatal(err)
	}
	id := crdt.NewDocumentID()
	r := newNoteResponder(t, h, id, note)

	np.Dial(addr)
	ev := np.Find(id.URL(), 20*time.Second)
	if ev.Event != "found" || ev.Title != "Go note ☃" || ev.Text != "héllo from go 👍🏽\n" {
		t.Fatalf("JS find of the Go note: %+v", ev)
	}
	t.Logf("JS found the Go note in %d ms", ev.Ms)

	// JS → Go (positions in runes on both sides).
	np.Splice(id.URL(), 6, 0, "and JS ")
	if got := r.waitText(t, "and JS", 10*time.Second); got != "héllo and JS from go 👍🏽\n" {
		t.Fatalf("Go text after the JS edit: %q", got)
	}

	// Go → JS.
	if err := note.Splice(len([]rune("héllo and JS from go 👍🏽\n")), 0, "bye\n"); err != nil {
		t.Fatal(err)
	}
	if err := r.push(); err != nil {
		t.Fatal(err)
	}
	if got, ok := np.WaitText(id.URL(), "bye", 10*time.Second); !ok || got != "héllo and JS from go 👍🏽\nbye\n" {
		t.Fatalf("JS text after the Go edit: %q (arrived: %v)", got, ok)
	}

	// Concurrent edits on both sides converge.
	if err := note.Splice(0, 0, "[go]"); err != nil {
		t.Fatal(err)
	}
	np.Splice(id.URL(), 0, 0, "[js]")
	if err := r.push(); err != nil {
		t.Fatal(err)
	}
	goText := r.waitText(t, "[js]", 10*time.Second)
	jsText, ok := np.WaitText(id.URL(), "[go]", 10*time.Second)
	if !ok {
		t.Fatalf("the concurrent Go edit never reached JS: %q", jsText)
	}
	// The JS side may still be applying; give both a moment to settle.
	deadline := time.Now().Add(5 * time.Second)
	for goText != jsText && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		goText, _ = note.Text()
		jsText = np.Text(id.URL())
	}
	if goText != jsText {
		t.Fatalf("texts differ after concurrent edits:\n go %q\n js %q", goText, jsText)
	}
	t.Logf("converged: %q", goText)
}
