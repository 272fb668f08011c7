package tui

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
)

// harness drives an App the way Bubble Tea does: Update on one goroutine,
// commands on others, their messages fed back in order of arrival.
type harness struct {
	t    *testing.T
	a    *App
	nb   *notebook.Notebook
	msgs chan tea.Msg
	quit bool
	clip []string
	// inflight counts commands still running, so cleanup waits for them
	// (a list load may be writing into the temp dir).
	inflight atomic.Int32
}

func newHarness(t *testing.T, nb *notebook.Notebook, opts Options, w, h int) *harness {
	t.Helper()
	hs := &harness{t: t, a: New(nb, opts), nb: nb, msgs: make(chan tea.Msg, 256)}
	t.Cleanup(func() {
		if err := hs.a.Close(); err != nil {
			t.Error(err)
		}
		if f, ok := opts.Network.(*fakeNet); ok {
			f.closeEvents()
		}
		deadline := time.After(10 * time.Second)
		for hs.inflight.Load() > 0 {
			select {
			case <-hs.msgs: // dropped: the test is over
			case <-deadline:
				t.Errorf("%d commands still running after the test", hs.inflight.Load())
				return
			}
		}
	})
	hs.run(hs.a.Init())
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	h.inflight.Add(1)
	go func() {
		m := cmd()
		h.inflight.Add(-1)
		h.msgs <- m
	}()
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	switch m := msg.(type) {
	case nil:
		return
	case tea.BatchMsg:
		for _, c := range m {
			h.run(c)
		}
		return
	case tea.QuitMsg:
		h.quit = true
		return
	}
	if s := clipboardOf(msg); s != "" {
		h.clip = append(h.clip, s)
	}
	_, cmd := h.a.Update(msg)
	h.run(cmd)
}

// clipboardOf recognises tea.SetClipboard's message.
func clipboardOf(msg tea.Msg) string {
	if fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" {
		return reflect.ValueOf(msg).String()
	}
	return ""
}

// keys sends key presses; "type:hello" types a string.
func (h *harness) keys(ks ...string) *harness {
	h.t.Helper()
	for _, k := range ks {
		if s, ok := strings.CutPrefix(k, "type:"); ok {
			for _, r := range s {
				if r == '\n' {
					h.send(kp("enter"))
					continue
				}
				h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
			}
			continue
		}
		h.send(kp(k))
	}
	return h
}

// until processes messages until cond holds.
func (h *harness) until(what string, cond func() bool) *harness {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case m := <-h.msgs:
			h.send(m)
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; screen:\n%s", what, h.plain())
		}
	}
	return h
}

// settle processes messages until none came for a while.
func (h *harness) settle() *harness {
	h.t.Helper()
	for {
		select {
		case m := <-h.msgs:
			h.send(m)
		case <-time.After(150 * time.Millisecond):
			return h
		}
	}
}

// historyShown waits until the history screen has loaded and its preview
// shows the selected change (previews are built off the loop).
func (h *harness) historyShown() *harness {
	return h.until("the history preview", func() bool {
		hs := h.a.hist
		return hs != nil && !hs.loading && !hs.fetching && (hs.shownSel == hs.sel || len(hs.changes) == 0)
	})
}

// findVersion selects the history entry whose text is text, opening
// sessions into their changes as it goes down the list.
func (h *harness) findVersion(text string) *harness {
	h.t.Helper()
	for i := 0; i < 10000; i++ {
		hs := h.a.hist
		if hs.preview.text == text {
			return h
		}
		if hs.sel >= len(hs.entries)-1 && (hs.entries[hs.sel].change >= 0 || hs.open[hs.entries[hs.sel].session]) {
			break
		}
		if e := hs.entries[hs.sel]; e.change < 0 && !hs.open[e.session] && len(hs.sessions[e.session].Changes) > 1 {
			h.keys("right")
		}
		h.keys("down").historyShown()
	}
	h.t.Fatalf("no history entry shows %q", text)
	return h
}

func (h *harness) listLoaded() *harness {
	return h.until("the list", func() bool { return h.a.list.loaded })
}

func (h *harness) noteLoaded() *harness {
	return h.until("the note to load", func() bool { return h.a.sess != nil && !h.a.sess.loading })
}

func (h *harness) saved() *harness {
	return h.until("saved", func() bool {
		if h.a.sess == nil || h.a.sess.note == nil {
			return false
		}
		h.a.sess.refreshSaved()
		return h.a.sess.saved
	})
}

func (h *harness) view() string { return h.a.View().Content }

func (h *harness) plain() string {
	lines := strings.Split(ansi.Strip(h.view()), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// checkScreen asserts the view has exactly the terminal's size.
func (h *harness) checkScreen() {
	h.t.Helper()
	lines := strings.Split(h.view(), "\n")
	if len(lines) != h.a.h {
		h.t.Fatalf("view has %d lines, terminal %d:\n%s", len(lines), h.a.h, h.plain())
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > h.a.w {
			h.t.Fatalf("line %d is %d cells wide, terminal %d: %q", i, w, h.a.w, ansi.Strip(l))
		}
	}
}

// openNotebook makes a real notebook in a temp dir.
func openNotebook(t *testing.T, author string) *notebook.Notebook {
	t.Helper()
	nb, err := notebook.Open(t.TempDir(), author)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// makeNote creates a note with text, stored and closed.
func makeNote(t *testing.T, nb *notebook.Notebook, title, text string) crdt.DocumentID {
	t.Helper()
	n, err := nb.Create(title)
	if err != nil {
		t.Fatal(err)
	}
	if text != "" {
		if err := n.Splice(0, 0, text); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return n.ID
}

// noteText reads a note's text from disk through a fresh notebook handle.
func noteText(t *testing.T, dir string, id crdt.DocumentID) string {
	return testkit.NoteText(t, dir, id)
}

// fakeNet is a test double for the network only: the notes it opens are the
// real notebook's.
type fakeNet struct {
	nb                 *notebook.Notebook
	mu                 sync.Mutex
	open               map[crdt.DocumentID]*notebook.Note
	peers              []Peer
	pres               []Presence
	status             SyncStatus
	inv                []Invitation
	joins              []PendingJoin
	ticket             string
	joinID             crdt.DocumentID
	joinErr            error
	cursors            [][3]int // SetCursor calls: cursor, anchor
	cleared            int      // ClearCursor calls
	events             chan any
	accepted, declined []crdt.DocumentID
	cancelled          []crdt.DocumentID // CancelJoin calls
	closeOnce          sync.Once
}

func newFakeNet(t *testing.T, nb *notebook.Notebook) *fakeNet {
	f := &fakeNet{nb: nb, open: map[crdt.DocumentID]*notebook.Note{}, events: make(chan any, 16), status: InSync}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, n := range f.open {
			n.Close()
		}
	})
	return f
}

func (f *fakeNet) Open(id crdt.DocumentID) (*notebook.Note, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.open[id]; ok {
		return n, nil
	}
	n, _, err := f.nb.OpenNote(id)
	if err != nil {
		return nil, err
	}
	f.open[id] = n
	return n, nil
}

func (f *fakeNet) Peers(crdt.DocumentID) []Peer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Peer(nil), f.peers...)
}

func (f *fakeNet) Status(crdt.DocumentID) SyncStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeNet) Presence(crdt.DocumentID) []Presence {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Presence(nil), f.pres...)
}

func (f *fakeNet) SetCursor(_ crdt.DocumentID, cursor, anchor int, _, _ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cursors = append(f.cursors, [3]int{cursor, anchor})
}

func (f *fakeNet) ClearCursor(crdt.DocumentID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleared++
}

func (f *fakeNet) Invite(crdt.DocumentID) (string, error) {
	if f.ticket == "" {
		return "", errors.New("no addresses to put in a ticket")
	}
	return f.ticket, nil
}

func (f *fakeNet) Join(ctx context.Context, ticket string) (crdt.DocumentID, error) {
	if f.joinErr != nil {
		return crdt.DocumentID{}, f.joinErr
	}
	return f.joinID, nil
}

func (f *fakeNet) Invitations() []Invitation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Invitation(nil), f.inv...)
}

func (f *fakeNet) PendingJoins() []PendingJoin {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PendingJoin(nil), f.joins...)
}

// CancelJoin drops the join, as the engine does.
func (f *fakeNet) CancelJoin(id crdt.DocumentID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	f.joins = slices.DeleteFunc(f.joins, func(j PendingJoin) bool { return j.ID == id })
	return nil
}

func (f *fakeNet) Accept(ctx context.Context, id crdt.DocumentID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accepted = append(f.accepted, id)
	f.inv = nil
	return nil
}

func (f *fakeNet) Decline(id crdt.DocumentID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declined = append(f.declined, id)
	f.inv = nil
	return nil
}

// get reads the fake's state under its lock.
func (f *fakeNet) get(fn func(f *fakeNet)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeNet) Events() <-chan any { return f.events }

func (f *fakeNet) poke() { f.events <- struct{}{} }

func (f *fakeNet) closeEvents() {
	f.closeOnce.Do(func() { close(f.events) })
}

func (f *fakeNet) set(fn func(f *fakeNet)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
	f.poke()
}

type harnessNB struct{ nb *notebook.Notebook }

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kp builds a key press from a keystroke like "ctrl+shift+left" or "a".
func kp(s string) tea.KeyPressMsg { return testkit.Key(s) }
