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

// The change an epoch begins with is nobody's session: the history reads
// on from the heads it was cut at, and a note just cut shows its last
// session as its current text (no merged entry).
func TestSessionsSkipAnEpochsRoot(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	h := func(b byte) ChangeHash { return ChangeHash{b} }
	hist := []ChangeInfo{
		{Hash: h(1), Author: "ann", Time: t0, Added: 5, Known: true},
		{Hash: h(2), Author: "ann", Time: t0.Add(time.Minute), Deps: []ChangeHash{h(1)}, Added: 3, Known: true},
		{Hash: h(9), Time: time.UnixMilli(0), Deps: []ChangeHash{h(2)}, Added: 8, Known: true, BeginsEpoch: true, Epoch: 1},
	}
	ss := Sessions(hist, []ChangeHash{h(9)}, SessionGap)
	if len(ss) != 1 || ss[0].Author != "ann" || ss[0].Added != 8 || ss[0].Merged {
		t.Fatalf("just after the cut: %+v", ss)
	}
	hist = append(hist, ChangeInfo{Hash: h(3), Author: "bob", Time: t0.Add(10 * time.Minute), Deps: []ChangeHash{h(9)}, Added: 1, Known: true, Epoch: 1})
	ss = Sessions(hist, []ChangeHash{h(3)}, SessionGap)
	if len(ss) != 2 || ss[0].Author != "bob" || ss[1].Author != "ann" || !SameHeads(ss[0].Parent, []ChangeHash{h(9)}) {
		t.Fatalf("after an edit in the new epoch: %+v", ss)
	}
}
