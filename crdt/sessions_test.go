package crdt

import (
	"testing"
	"time"
)

func TestSessionsGroupKeystrokesByAuthor(t *testing.T) {
	a := mustNew(t, "t", "ann")
	for _, ch := range "hello" {
		a.Splice(a.Len(), 0, string(ch))
		commitBytes(t, a) // one change per keystroke, as while live
	}
	b, _, _ := Load(mustSave(t, a), nil, "bob")
	for _, ch := range " world" {
		b.Splice(b.Len(), 0, string(ch))
		if err := a.Apply(commitBytes(t, b)); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := a.History()
	if err != nil {
		t.Fatal(err)
	}
	heads, _ := a.Heads()
	ss := Sessions(hist, heads, SessionGap)
	if len(ss) != 2 {
		t.Fatalf("%d sessions: %+v", len(ss), ss)
	}
	if ss[0].Author != "bob" || len(ss[0].Changes) != 6 || ss[0].Added != 6 || ss[0].Merged {
		t.Fatalf("newest session %+v", ss[0])
	}
	if ss[1].Author != "ann" || len(ss[1].Changes) != 6 || !ss[1].Created { // creation + 5 keystrokes
		t.Fatalf("older session %+v", ss[1])
	}
	_, text, err := a.At(ss[0].Heads...)
	if err != nil || text != "hello world" {
		t.Fatalf("newest entry shows %q, %v", text, err)
	}
	_, text, _ = a.At(ss[0].Parent...)
	if text != "hello" {
		t.Fatalf("the newest entry's parent shows %q", text)
	}
}

// After an offline merge the newest entry is the merged text, not one
// branch (restoring it would have dropped the other's edits).
func TestSessionsNewestIsMergedText(t *testing.T) {
	a := mustNew(t, "t", "ann")
	a.Splice(0, 0, "base\n")
	b, _, _ := Load(mustSave(t, a), nil, "bob")
	a.Splice(a.Len(), 0, "ann offline\n")
	ca := commitBytes(t, a)
	time.Sleep(10 * time.Millisecond)
	b.Splice(b.Len(), 0, "bob offline\n")
	cb := commitBytes(t, b)
	if err := a.Apply(cb); err != nil {
		t.Fatal(err)
	}
	_ = ca
	hist, _ := a.History()
	heads, _ := a.Heads()
	ss := Sessions(hist, heads, SessionGap)
	if !ss[0].Merged || len(ss[0].Heads) != 2 {
		t.Fatalf("newest entry %+v, want the merge of both heads", ss[0])
	}
	_, text, _ := a.At(ss[0].Heads...)
	if want, _ := a.Text(); text != want {
		t.Fatalf("newest entry shows %q, the note is %q", text, want)
	}
}

func mustSave(t testing.TB, n *Note) []byte {
	t.Helper()
	b, err := n.Save()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
