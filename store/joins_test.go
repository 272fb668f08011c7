package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPendingJoins(t *testing.T) {
	nb := newNotebook(t)
	if joins, err := nb.PendingJoins(); err != nil || len(joins) != 0 {
		t.Fatalf("PendingJoins of a new notebook = %v, %v", joins, err)
	}
	a := PendingJoin{ID: "noteA", Addrs: []string{"/ip4/127.0.0.1/tcp/4747/p2p/12D3KooWann"}, Added: time.Unix(100, 0).UTC()}
	b := PendingJoin{ID: "noteB", Addrs: []string{"/ip4/10.0.0.2/tcp/4747/p2p/12D3KooWbob"}, Added: time.Unix(200, 0).UTC()}
	add := func(j PendingJoin) func([]PendingJoin) ([]PendingJoin, error) {
		return func(joins []PendingJoin) ([]PendingJoin, error) { return append(joins, j), nil }
	}
	if err := nb.UpdatePendingJoins(add(a)); err != nil {
		t.Fatal(err)
	}
	if err := nb.UpdatePendingJoins(add(b)); err != nil {
		t.Fatal(err)
	}
	joins, err := nb.PendingJoins()
	if err != nil || !reflect.DeepEqual(joins, []PendingJoin{a, b}) {
		t.Fatalf("PendingJoins = %+v, %v; want both in the order added", joins, err)
	}
	st, err := os.Stat(filepath.Join(nb.Dir(), "joins"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("joins file: %v, %v; want mode 0600", st, err)
	}

	// An update that fails changes nothing.
	boom := errors.New("boom")
	if err := nb.UpdatePendingJoins(func([]PendingJoin) ([]PendingJoin, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed update: %v", err)
	}
	if joins, _ := nb.PendingJoins(); len(joins) != 2 {
		t.Fatalf("a failed update changed the joins: %+v", joins)
	}
	// An invalid id is refused (it would name a path).
	if err := nb.UpdatePendingJoins(add(PendingJoin{ID: "../x"})); !errors.Is(err, ErrInvalidID) {
		t.Fatalf("join with a bad id: %v", err)
	}
	// A list too large to be collab's is refused.
	huge := PendingJoin{ID: "noteC", LastError: strings.Repeat("x", MaxJoinsSize)}
	if err := nb.UpdatePendingJoins(add(huge)); err == nil {
		t.Fatal("a list larger than MaxJoinsSize was stored")
	}
	if err := nb.UpdatePendingJoins(func(joins []PendingJoin) ([]PendingJoin, error) { return joins[1:], nil }); err != nil {
		t.Fatal(err)
	}
	if joins, _ := nb.PendingJoins(); !reflect.DeepEqual(joins, []PendingJoin{b}) {
		t.Fatalf("after removing the first: %+v", joins)
	}
}

// A damaged joins file is reported when read, and a change replaces it,
// keeping its bytes in joins.damaged.
func TestPendingJoinsDamaged(t *testing.T) {
	nb := newNotebook(t)
	path := filepath.Join(nb.Dir(), "joins")
	if err := nb.UpdatePendingJoins(func([]PendingJoin) ([]PendingJoin, error) {
		return []PendingJoin{{ID: "noteA"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.PendingJoins(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged joins file read as %v", err)
	}
	var seen []PendingJoin
	if err := nb.UpdatePendingJoins(func(joins []PendingJoin) ([]PendingJoin, error) {
		seen = joins
		return append(joins, PendingJoin{ID: "noteB"}), nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Errorf("update of a damaged file saw %+v", seen)
	}
	if kept, err := os.ReadFile(filepath.Join(nb.Dir(), "joins.damaged")); err != nil || string(kept) != string(b) {
		t.Errorf("damaged bytes not kept: %v", err)
	}
	if joins, err := nb.PendingJoins(); err != nil || len(joins) != 1 || joins[0].ID != "noteB" {
		t.Errorf("after replacing a damaged file: %+v, %v", joins, err)
	}

	// A file far larger than collab writes is not read into memory.
	if err := os.WriteFile(path, make([]byte, MaxJoinsSize+1024), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.PendingJoins(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("oversized joins file read as %v", err)
	}
}

func TestPendingJoinsReadOnly(t *testing.T) {
	nb := newNotebook(t)
	ro, err := OpenReadOnly(nb.Dir())
	if err != nil {
		t.Fatal(err)
	}
	err = ro.UpdatePendingJoins(func(j []PendingJoin) ([]PendingJoin, error) { return j, nil })
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("update through a read-only notebook: %v", err)
	}
}
