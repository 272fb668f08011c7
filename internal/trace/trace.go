package trace

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

// PaperPath is where the paper trace sits beside the repository checkout.
func PaperPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "traces", "automerge-paper.json.gz")
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
