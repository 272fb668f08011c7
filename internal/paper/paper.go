package paper

import (
	"sync"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/trace"
)

// TypingInterval models the paper trace's keystrokes, which carry no real
// timestamps, as steady typing at about 80 words a minute with no pauses:
// the policy's time bound, not a typing pause, then ends each change.
const TypingInterval = 150 * time.Millisecond

// The paper note's saved bytes per history, replayed once per process.
var saved struct {
	sync.Mutex
	data map[string][]byte
}

// Copies is the history of Saved that types the whole trace four times
// over, one copy after the other, committing after every edit: over a
// million changes (issue 10's long note).
const Copies = "per-edit,4-copies"

// Saved is the paper note saved with one history: "policy" commits as
// crdt.DefaultPolicy decides, Copies types the trace four times, any other
// one commits after every edit.
func Saved(tb testing.TB, history string) []byte {
	tb.Helper()
	saved.Lock()
	defer saved.Unlock()
	if data, ok := saved.data[history]; ok {
		return data
	}
	var policy *crdt.CommitPolicy
	if history == "policy" {
		policy = &crdt.DefaultPolicy
	}
	var doc *crdt.Note
	var changes int
	if history == Copies {
		doc, changes = replayCopies(tb, trace.Paper(tb), 4)
	} else {
		doc, changes = Replay(tb, trace.Paper(tb), policy)
	}
	defer doc.Close()
	data, err := doc.Save()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("paper note, history=%s: %d changes, %d bytes saved", history, changes, len(data))
	if saved.data == nil {
		saved.data = map[string][]byte{}
	}
	saved.data[history] = data
	return data
}

// Replay applies the whole paper trace to a new note, committing after
// every edit or as policy decides on a simulated clock. It returns the note
// and how many changes it committed.
func Replay(tb testing.TB, tr *trace.Trace, policy *crdt.CommitPolicy) (*crdt.Note, int) {
	n, err := crdt.New("paper", "bench")
	if err != nil {
		tb.Fatal(err)
	}
	changes := 0
	commit := func() {
		c, err := n.Commit()
		if err != nil {
			tb.Fatal(err)
		}
		changes += len(c)
	}
	clock := time.Unix(0, 0)
	var first, last time.Time
	pending := 0
	for _, e := range tr.Edits {
		if err := n.Splice(e.Pos, e.Delete, e.Insert); err != nil {
			tb.Fatal(err)
		}
		if policy == nil {
			commit()
			continue
		}
		if pending == 0 {
			first = clock
		}
		pending++
		last = clock
		clock = clock.Add(TypingInterval)
		if policy.Due(clock, pending, first, last) {
			commit()
			pending = 0
		}
	}
	commit()
	text, err := n.Text()
	if err != nil || text != tr.End {
		tb.Fatalf("replayed text differs from endContent (%d vs %d runes, %v)", len([]rune(text)), len([]rune(tr.End)), err)
	}
	return n, changes
}

// replayCopies types the trace copies times into one note, each copy after
// the text of the ones before, committing after every edit.
func replayCopies(tb testing.TB, tr *trace.Trace, copies int) (*crdt.Note, int) {
	n, err := crdt.New("paper", "bench")
	if err != nil {
		tb.Fatal(err)
	}
	changes := 0
	for range copies {
		at := n.Len()
		for _, e := range tr.Edits {
			if err := n.Splice(at+e.Pos, e.Delete, e.Insert); err != nil {
				tb.Fatal(err)
			}
			c, err := n.Commit()
			if err != nil {
				tb.Fatal(err)
			}
			changes += len(c)
		}
	}
	if got := n.Len(); got != copies*len([]rune(tr.End)) {
		tb.Fatalf("%d copies of the trace hold %d characters, want %d", copies, got, copies*len([]rune(tr.End)))
	}
	return n, changes
}
