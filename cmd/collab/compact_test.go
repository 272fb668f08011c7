package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
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
