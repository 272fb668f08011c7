package amformat

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/collab-editor/collab/internal/trace"
)

var paperCache struct {
	sync.Mutex
	docs map[string][]byte
}

// paperDoc is the paper trace replayed through crdt and saved: "b1" commits
// every keystroke (259,778 changes), "policy" by the default commit policy.
// Replaying b1 takes seconds, so the saved bytes are cached in the temp
// directory, keyed by the trace's contents.
func paperDoc(tb testing.TB, kind string) ([]byte, *trace.Trace) {
	tb.Helper()
	tr := trace.Paper(tb)
	paperCache.Lock()
	defer paperCache.Unlock()
	if b, ok := paperCache.docs[kind]; ok {
		return b, tr
	}
	sum := sha256.Sum256([]byte(fmt.Sprint(len(tr.Edits), tr.End)))
	path := filepath.Join(os.TempDir(), fmt.Sprintf("collab-amformat-paper-%s-%x.automerge", kind, sum[:6]))
	b, err := os.ReadFile(path)
	if err != nil {
		b = replayPaper(tb, tr, kind == "policy")
		if err := os.WriteFile(path+".tmp", b, 0o600); err == nil {
			os.Rename(path+".tmp", path)
		}
	}
	if paperCache.docs == nil {
		paperCache.docs = map[string][]byte{}
	}
	paperCache.docs[kind] = b
	return b, tr
}

// replayPaper replays the trace into an automerge document the way collab
// writes notes (text at "text", a title) — directly, not through package
// crdt, which imports this one — committing every keystroke, or as collab's
// default commit policy does on steady typing at one key per 150 ms (a
// burst ends after 4 s or 200 edits: 27 keystrokes a change).
func replayPaper(tb testing.TB, tr *trace.Trace, policy bool) []byte {
	tb.Helper()
	doc := automerge.New()
	if err := doc.RootMap().Set("text", automerge.NewText("")); err != nil {
		tb.Fatal(err)
	}
	if err := doc.RootMap().Set("title", "paper"); err != nil {
		tb.Fatal(err)
	}
	if _, err := doc.Commit("bench: +0 -0"); err != nil {
		tb.Fatal(err)
	}
	v, err := doc.RootMap().Get("text")
	if err != nil {
		tb.Fatal(err)
	}
	text := v.Text()
	const keystroke, maxAge, maxEdits = 150 * time.Millisecond, 4 * time.Second, 200
	pending, age := 0, time.Duration(0)
	for _, e := range tr.Edits {
		if err := text.Splice(e.Pos, e.Delete, e.Insert); err != nil {
			tb.Fatal(err)
		}
		pending++
		age += keystroke
		if !policy || pending >= maxEdits || age >= maxAge {
			if _, err := doc.Commit("bench: +1 -0"); err != nil {
				tb.Fatal(err)
			}
			pending, age = 0, 0
		}
	}
	if pending > 0 {
		if _, err := doc.Commit("bench: +1 -0"); err != nil {
			tb.Fatal(err)
		}
	}
	if got, _ := text.Get(); got != tr.End {
		tb.Fatal("replayed text differs from the trace's endContent")
	}
	return doc.Save()
}

func TestPaperDocuments(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the paper trace")
	}
	for _, kind := range []string{"policy", "b1"} {
		t.Run(kind, func(t *testing.T) {
			b, tr := paperDoc(t, kind)
			d, err := DecodeDocument(b)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "b1" && len(d.Changes) < len(tr.Edits) {
				t.Fatalf("%d changes for %d keystrokes", len(d.Changes), len(tr.Edits))
			}
			m, err := FromDocument(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text() != tr.End || m.Title() != "paper" || m.Len() != len([]rune(tr.End)) {
				t.Fatalf("text of %d runes, title %q", m.Len(), m.Title())
			}
			start := time.Now()
			hist, err := d.History()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v; history of %d changes rebuilt and hashed in %v", d, len(hist), time.Since(start))
			// Applying the rebuilt changes in order to an empty model gives
			// the same text, one splice at a time.
			if kind == "policy" {
				e := NewModel()
				for _, c := range hist {
					if _, err := e.Apply(c); err != nil {
						t.Fatal(err)
					}
				}
				if e.Text() != tr.End {
					t.Fatal("replaying the rebuilt history gives another text")
				}
			}
		})
	}
}

func BenchmarkModelFromPaperDocument(b *testing.B) {
	doc, tr := paperDoc(b, "b1")
	var m *Model
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if m, err = FromDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if m.Text() != tr.End {
		b.Fatal("wrong text")
	}
	// Memory per element: the heap the model holds once built.
	m = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, _ = FromDocument(doc)
	runtime.GC()
	runtime.ReadMemStats(&after)
	elems := 0
	for _, o := range m.objs {
		for _, bl := range o.blocks {
			elems += bl.len()
		}
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(elems), "B/elem")
	b.ReportMetric(float64(elems), "elems")
	runtime.KeepAlive(m)
}

// typingChange makes the change a new actor would send to insert one
// character at pos of m's body, after the model's heads.
func typingChange(m *Model, actor ActorID, seq uint64, startOp uint64, pos int, ch rune) *Change {
	c := &Change{Actor: actor, Seq: seq, StartOp: startOp, Deps: m.Heads(), Time: 1}
	op := Op{ID: OpID{Counter: startOp}, Insert: true, Action: ActionPut, Value: Str(string(ch))}
	textObj := m.textObject(KeyText).id
	others := map[ActorID]bool{}
	objActor := m.actors[textObj.actor()]
	refs := []ActorID{objActor}
	var elem ElemID
	if pos > 0 {
		elem, _ = m.ElemAt(pos - 1)
		refs = append(refs, elem.Actor)
	}
	for _, a := range refs {
		if a != actor {
			others[a] = true
		}
	}
	for a := range others {
		c.OtherActors = append(c.OtherActors, a)
	}
	sort.Slice(c.OtherActors, func(i, j int) bool { return c.OtherActors[i] < c.OtherActors[j] })
	local := func(a ActorID) uint32 {
		if a == actor {
			return 0
		}
		for i, o := range c.OtherActors {
			if o == a {
				return uint32(i + 1)
			}
		}
		panic("actor")
	}
	op.Obj = OpID{Counter: textObj.counter(), Actor: local(objActor)}
	op.Key = Key{IsElem: true}
	if pos > 0 {
		op.Key.Elem = OpID{Counter: elem.Counter, Actor: local(elem.Actor)}
	}
	c.Ops = []Op{op}
	c.Rehash()
	return c
}

func BenchmarkModelApplyOneChar(b *testing.B) {
	doc, _ := paperDoc(b, "b1")
	m, err := FromDocument(doc)
	if err != nil {
		b.Fatal(err)
	}
	maxOp := uint64(0)
	for _, c := range m.clock {
		maxOp = max(maxOp, c.maxOp)
	}
	actor := ActorID("\x7f\x01benchmark-typist")
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pos := (i * 7919) % (m.Len() + 1)
		c := typingChange(m, actor, uint64(i+1), maxOp+1, pos, 'x')
		maxOp++
		b.StartTimer()
		start := time.Now()
		splices, err := m.Apply(c)
		durations = append(durations, time.Since(start))
		if err != nil || len(splices) != 1 || splices[0].Pos != pos {
			b.Fatalf("apply: %v %+v", err, splices)
		}
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "ns/apply-p50")
	b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds()), "ns/apply-p99")
}
