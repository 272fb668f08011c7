package crdt

import (
	"strings"
	"testing"
)

func TestChangeHash(t *testing.T) {
	n, err := New("t", "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"x", "hello ünïcode", strings.Repeat("long paste ", 5000)} {
		if err := n.Splice(0, 0, s); err != nil {
			t.Fatal(err)
		}
		cs, err := n.Commit()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			h, err := HashOf(c.Bytes)
			if err != nil || h != c.Hash {
				t.Fatalf("changeHash = %x, %v; want %x", h, err, c.Hash)
			}
			bad := append([]byte(nil), c.Bytes...)
			bad[len(bad)-1] ^= 1
			if _, err := HashOf(bad); err == nil {
				t.Error("corrupted change accepted")
			}
			if _, err := HashOf(append(c.Bytes, c.Bytes...)); err == nil {
				t.Error("two chunks accepted as one change")
			}
		}
	}
	for _, b := range [][]byte{nil, {1, 2, 3}, []byte("garbage garbage garbage")} {
		if _, err := HashOf(b); err == nil {
			t.Errorf("HashOf(%q) accepted", b)
		}
	}
}
