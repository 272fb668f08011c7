package trace

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Edit is one patch: delete Delete runes at Pos, then insert Insert.
type Edit struct {
	Pos    int
	Delete int
	Insert string
}

// Trace is a whole editing session.
type Trace struct {
	Start, End string
	Edits      []Edit
}

// paperFile is the paper trace's place below the folder it is kept in.
var paperFile = filepath.Join("shared", "traces", "automerge-paper.json.gz")

// PaperPath is where the paper trace is: $COLLAB_PAPER_TRACE if set, else
// shared/traces beside the checkout, found by going up from this source
// file (a worktree sits deeper than the main checkout). When it is nowhere,
// the place beside the checkout, for Load's error to name.
func PaperPath() string {
	if p := os.Getenv("COLLAB_PAPER_TRACE"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if p := filepath.Join(d, paperFile); fileExists(p) {
			return p
		}
	}
	return filepath.Join(dir, "..", "..", "..", paperFile)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var paperCache struct {
	sync.Mutex
	trace *Trace
}

// Paper is the paper trace, read once per process. Without it the test or
// benchmark skips, and fails when CI=true.
func Paper(tb testing.TB) *Trace {
	tb.Helper()
	paperCache.Lock()
	defer paperCache.Unlock()
	if paperCache.trace != nil {
		return paperCache.trace
	}
	tr, err := Load(PaperPath())
	if err != nil {
		const where = "shared/traces/automerge-paper.json.gz beside the checkout, or set COLLAB_PAPER_TRACE"
		if os.Getenv("CI") == "true" {
			tb.Fatalf("paper trace unavailable (%v): %s", err, where)
		}
		tb.Skipf("paper trace unavailable (%v): %s", err, where)
	}
	paperCache.trace = tr
	return tr
}

// Load reads a trace file.
func Load(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("gunzip trace %s: %w", path, err)
	}
	var raw struct {
		StartContent string `json:"startContent"`
		EndContent   string `json:"endContent"`
		Txns         []struct {
			Patches [][3]json.RawMessage `json:"patches"`
		} `json:"txns"`
	}
	if err := json.NewDecoder(zr).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode trace %s: %w", path, err)
	}
	t := &Trace{Start: raw.StartContent, End: raw.EndContent}
	for _, txn := range raw.Txns {
		for _, p := range txn.Patches {
			var e Edit
			if err := json.Unmarshal(p[0], &e.Pos); err != nil {
				return nil, fmt.Errorf("trace position: %w", err)
			}
			if err := json.Unmarshal(p[1], &e.Delete); err != nil {
				return nil, fmt.Errorf("trace delete count: %w", err)
			}
			if err := json.Unmarshal(p[2], &e.Insert); err != nil {
				return nil, fmt.Errorf("trace insert: %w", err)
			}
			t.Edits = append(t.Edits, e)
		}
	}
	return t, nil
}
