package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// `collab compact` cuts a note's history: the text stays, edits go on,
// and `collab log` still lists every change, with where each epoch begins.
func TestCompactKeepsTextAndLog(t *testing.T) {
	c := newCLI(t)
	c.ok("", "new", "Diary")
	var want strings.Builder
	for i := range 12 {
		line := fmt.Sprintf("day %d", i)
		c.ok("", "append", "Diary", line)
		want.WriteString(line + "\n")
	}
	out := c.ok("", "compact", "Diary")
	if !strings.Contains(out, "epoch 1 begins") {
		t.Fatalf("compact said %q", out)
	}
	if got := c.ok("", "cat", "Diary"); got != want.String() {
		t.Fatalf("cat after compact = %q, want %q", got, want.String())
	}
	c.ok("", "append", "Diary", "after")
	want.WriteString("after\n")
	c.ok("", "compact", "Diary")
	if got := c.ok("", "cat", "Diary"); got != want.String() {
		t.Fatalf("cat after two compactions = %q", got)
	}
	var entries []logEntry
	if err := json.Unmarshal([]byte(c.ok("", "log", "Diary", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	appends, roots := 0, 0
	for _, le := range entries {
		switch {
		case le.BeginsEpoch:
			roots++
		case le.Added != nil && *le.Added > 0:
			appends++
		}
	}
	// 13 appends, the roots of epochs 1 and 2; newest first.
	if appends != 13 || roots != 2 || entries[0].Epoch != 2 || entries[len(entries)-1].Epoch != 0 {
		t.Fatalf("log: %d appends, %d epoch roots, epochs %d..%d", appends, roots, entries[len(entries)-1].Epoch, entries[0].Epoch)
	}
	if log := c.ok("", "log", "Diary"); !strings.Contains(log, "epoch 2 begins") || !strings.Contains(log, "epoch 1 begins") {
		t.Fatalf("log does not say where the epochs begin:\n%s", log)
	}
}

// `collab compact` on a note shared with a running peer, while this
// notebook's own collab serve runs: the serve process follows the cut and
// announces it, the peer cuts its copy alike, `collab log` there says
// where the epoch begins, and edits go on both ways.
func TestCompactASharedNoteWhileBothRun(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	binOK(t, homeA, "new", "Plan")
	binOK(t, homeA, "append", "Plan", "from ann")
	startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	binOK(t, homeB, "join", "--listen", "/ip4/127.0.0.1/tcp/0", "--mdns=false", tk)
	startServe(t, homeB, "bob")
	binOK(t, homeB, "append", "Plan", "from bob")
	want := "from ann\nfrom bob\n"
	waitFor(t, 20*time.Second, "bob's line at ann", func() bool {
		return binOK(t, homeA, "cat", "Plan") == want
	})

	out := binOK(t, homeA, "compact", "Plan")
	if !strings.Contains(out, "epoch 1 begins") {
		t.Fatalf("compact said %q", out)
	}
	waitFor(t, 20*time.Second, "bob to follow the cut", func() bool {
		return strings.Contains(binOK(t, homeB, "log", "Plan"), "epoch 1 begins")
	})
	if got := binOK(t, homeB, "cat", "Plan"); got != want {
		t.Fatalf("bob's copy after the cut: %q", got)
	}
	binOK(t, homeB, "append", "Plan", "bob in epoch 1")
	binOK(t, homeA, "append", "Plan", "ann in epoch 1")
	waitFor(t, 20*time.Second, "both lines on both sides", func() bool {
		a, b := binOK(t, homeA, "cat", "Plan"), binOK(t, homeB, "cat", "Plan")
		return a == b && strings.Contains(a, "bob in epoch 1\n") && strings.Contains(a, "ann in epoch 1\n")
	})
	var entries []logEntry
	if err := json.Unmarshal([]byte(binOK(t, homeB, "log", "Plan", "--json")), &entries); err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, le := range entries {
		if le.Epoch == 0 {
			before++
		}
	}
	if before < 2 { // at least ann's note and bob's first line
		t.Errorf("bob's log lists %d changes before the cut:\n%s", before, binOK(t, homeB, "log", "Plan"))
	}
}
