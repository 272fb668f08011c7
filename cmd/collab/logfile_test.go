package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// collab.log never grows past its limit: the full file moves to
// collab.log.1 and logging goes on in a new one, no record split or lost
// across the two.
func TestLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "collab.log")
	const limit = 4 << 10
	l, err := openRotatingLog(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(l, nil))
	const records = 200 // about 20 KiB of records
	for i := range records {
		log.Warn("refused stream", "i", i, "err", strings.Repeat("x", 40))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	for name, b := range map[string][]byte{"collab.log": cur, "collab.log.1": old} {
		if len(b) > limit {
			t.Errorf("%s has %d bytes; want at most %d", name, len(b), limit)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends inside a record", name)
		}
	}
	// The newest records are all there, in order, across the two files.
	lines := strings.Split(strings.TrimSpace(string(old)+string(cur)), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "i=199 ") {
		t.Errorf("last record %q, want i=199", last)
	}
	if bytes.Count(cur, []byte("\n")) == 0 {
		t.Error("the current log is empty after rotation")
	}

	// A log already full when a session starts is moved aside at once.
	if err := os.WriteFile(path, bytes.Repeat([]byte("old line\n"), limit/9+1), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err = openRotatingLog(path, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st, err := os.Stat(path); err != nil || st.Size() != 0 {
		t.Errorf("a full log was not moved aside at open: %v %v", st, err)
	}
}
