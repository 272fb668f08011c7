package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAuxFiles(t *testing.T) {
	nb, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := nb.Create("note1")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.ReadAux("sync.12D3KooWpeer"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing side file: %v", err)
	}
	if err := l.WriteAux("sync.12D3KooWpeer", []byte("state")); err != nil {
		t.Fatal(err)
	}
	got, err := l.ReadAux("sync.12D3KooWpeer")
	if err != nil || string(got) != "state" {
		t.Fatalf("ReadAux = %q, %v", got, err)
	}
	path := filepath.Join(nb.Dir(), "notes", "note1", "aux.sync.12D3KooWpeer")
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("side file mode: %v %v", info, err)
	}
	b, _ := os.ReadFile(path)
	b[len(b)-1] ^= 0xff
	os.WriteFile(path, b, 0o600)
	if _, err := l.ReadAux("sync.12D3KooWpeer"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged side file: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden"} {
		if err := l.WriteAux(bad, nil); !errors.Is(err, ErrInvalidID) {
			t.Errorf("WriteAux(%q) = %v", bad, err)
		}
	}
}
