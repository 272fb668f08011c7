package crdt

import (
	"errors"
	"testing"
)

// An invitation's title comes from the offer in Go: the whole note (every
// change from nothing) gives its title and counts as whole; a message that
// carries changes whose dependencies it lacks is not whole; a malformed
// one is rejected.
func TestOfferedNote(t *testing.T) {
	src, err := New("groceries", "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Splice(0, 0, "milk\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := src.SetTitle("shopping"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	empty, _, err := Load(nil, nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	var offer []byte
	syncPair(t, src, empty, func(round int, aToB []byte) {
		if offer == nil && aToB != nil && len(aToB) > 200 {
			offer = aToB // the message carrying the changes
		}
	})
	if offer == nil {
		t.Fatal("no message carried the note")
	}
	title, whole, err := OfferedNote(offer)
	if err != nil || title != "shopping" || !whole {
		t.Fatalf("whole offer: %q %v %v, want %q true nil", title, whole, err, "shopping")
	}

	// The same note's later change alone: its title, not whole.
	if err := src.SetTitle("errands"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Commit(); err != nil {
		t.Fatal(err)
	}
	var later []byte
	syncPair(t, src, empty, func(round int, aToB []byte) {
		if later == nil && aToB != nil && len(aToB) > 100 {
			later = aToB
		}
	})
	title, whole, err = OfferedNote(later)
	if err != nil || title != "errands" || whole {
		t.Fatalf("partial offer: %q %v %v, want %q false nil", title, whole, err, "errands")
	}

	bad := append([]byte(nil), offer...)
	bad[len(bad)/2] ^= 0xff
	if _, _, err := OfferedNote(bad); !errors.Is(err, ErrRejected) {
		t.Fatalf("a damaged offer: %v, want ErrRejected", err)
	}
}
