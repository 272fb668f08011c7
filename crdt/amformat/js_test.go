package amformat

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/automerge/automerge-go"
)

// jsFixtures are documents, changes and sync messages written by JS
// Automerge 3.5 (testdata/gen/gen.mjs made testdata/js.json).
type jsFixtures struct {
	Docs []struct {
		Name, Doc, Text, Title string
	}
	Changes []struct {
		Name, Change string
	}
	Sync []string
}

func loadJS(t testing.TB) jsFixtures {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "js.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f jsFixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJSDocumentsDecodeAndModel(t *testing.T) {
	f := loadJS(t)
	for _, fx := range f.Docs {
		t.Run(fx.Name, func(t *testing.T) {
			raw := unhex(t, fx.Doc)
			d, err := DecodeDocument(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.History(); err != nil {
				t.Fatalf("history: %v", err)
			}
			m, err := FromDocument(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text() != fx.Text || m.Title() != fx.Title {
				t.Fatalf("model: %q / %q, JS: %q / %q", m.Text(), m.Title(), fx.Text, fx.Title)
			}
			// The core reads the same.
			cd, err := automerge.Load(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := coreText(t, cd).Get(); got != fx.Text {
				t.Fatalf("core text %q", got)
			}
		})
	}
}

func TestJSChangesDecodeReencodeAndApply(t *testing.T) {
	f := loadJS(t)
	models := map[string]*Model{}
	for i, fx := range f.Changes {
		raw := unhex(t, fx.Change)
		c, err := DecodeChange(raw)
		if err != nil {
			t.Fatalf("%s change %d: %v", fx.Name, i, err)
		}
		if err := CheckNoteChange(c); err != nil {
			t.Fatalf("%s change %d: %v", fx.Name, i, err)
		}
		if !c.Compressed && !bytes.Equal(c.Encode(), raw) {
			t.Errorf("%s change %d re-encodes differently:\n%x\n%x", fx.Name, i, c.Encode(), raw)
		}
		m := models[fx.Name]
		if m == nil {
			m = NewModel()
			models[fx.Name] = m
		}
		if _, err := m.Apply(c); err != nil {
			t.Fatalf("%s change %d: %v", fx.Name, i, err)
		}
	}
	for _, fx := range f.Docs {
		m := models[fx.Name]
		if m == nil || m.Text() != fx.Text || m.Title() != fx.Title {
			t.Fatalf("%s: changes applied in order give %q / %q", fx.Name, m.Text(), m.Title())
		}
	}
}

func TestJSSyncMessages(t *testing.T) {
	f := loadJS(t)
	if len(f.Sync) == 0 {
		t.Fatal("no sync messages in the fixtures")
	}
	changes, flagged := 0, 0
	for i, s := range f.Sync {
		raw := unhex(t, s)
		m, err := DecodeSyncMessage(raw)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Encode(), raw) {
			t.Fatalf("message %d re-encodes differently", i)
		}
		changes += len(m.Changes)
		if m.Flags != nil {
			flagged++
		}
		// The same message as version 2 is refused as unsupported.
		v2 := append([]byte{syncMessageV2}, raw[1:]...)
		if _, err := DecodeSyncMessage(v2); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("version 2 message: %v", err)
		}
	}
	if changes == 0 || flagged == 0 {
		t.Fatalf("fixtures lack changes (%d) or flags (%d)", changes, flagged)
	}
}

// TestJSFixturesAreCurrent regenerates the fixtures with the interop
// folder's Node Automerge and checks they are what testdata/js.json holds.
func TestJSFixturesAreCurrent(t *testing.T) {
	need := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (run npm ci --prefix interop)", what)
		}
		t.Skipf("%s is missing (run npm ci --prefix interop)", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need("node")
	}
	mod, _ := filepath.Abs(filepath.Join("..", "..", "interop", "node_modules", "@automerge", "automerge"))
	if _, err := os.Stat(mod); err != nil {
		need(mod)
	}
	out, err := exec.Command(node, filepath.Join("testdata", "gen", "gen.mjs"), mod).Output()
	if err != nil {
		t.Fatalf("gen.mjs: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "js.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatal("JS Automerge now writes other fixtures: regenerate testdata/js.json with testdata/gen/gen.mjs and check the tests still pass")
	}
}
