package p2p

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// A key file damaged in either half is refused at load with a clear error,
// instead of making a peer whose every connection fails without a word.
func TestIdentityRefusesDamagedKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.key")
	if _, err := LoadOrCreateIdentity(path); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file is a protobuf whose last 64 bytes are the Ed25519 key: the
	// private seed, then the public half.
	for name, at := range map[string]int{"private half": len(good) - 64 + 5, "public half": len(good) - 32 + 5} {
		t.Run(name, func(t *testing.T) {
			bad := append([]byte(nil), good...)
			bad[at] ^= 0x01
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateIdentity(path)
			if !errors.Is(err, ErrKeyDamaged) {
				t.Fatalf("load of a key with a bit flipped in its %s: %v; want ErrKeyDamaged", name, err)
			}
			t.Log(err)
		})
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(path); err != nil {
		t.Errorf("the intact key: %v", err)
	}
}

// Creators racing for a notebook's identity (two collab processes started
// at once) all end up with one key: the first one written.
func TestIdentityCreatedOnceUnderRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	const racers = 8
	keys := make([]crypto.PrivKey, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			k, err := LoadOrCreateIdentity(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i, k := range keys {
		if k == nil || !k.Equals(keys[0]) {
			t.Fatalf("racer %d has another key than racer 0", i)
		}
	}
}

// A flipped bit anywhere in the key file is never taken for a key: libp2p
// decodes an Ed25519 key without checking that its halves belong together,
// and a key whose public half is wrong makes every dial fail with no clear
// reason. A flip in the 64 key bytes is refused with ErrKeyDamaged and an
// error naming the file; a flip elsewhere fails to decode or (in bytes the
// decoder ignores) still gives the same key.
func TestIdentityRejectsFlippedBits(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	orig, err := LoadOrCreateIdentity(good)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	keyStart := len(data) - 64 // protobuf: type, then the 64 key bytes last
	path := filepath.Join(dir, "identity.key")
	for bit := 0; bit < len(data)*8; bit++ {
		flipped := append([]byte(nil), data...)
		flipped[bit/8] ^= 1 << (bit % 8)
		if err := os.WriteFile(path, flipped, 0o600); err != nil {
			t.Fatal(err)
		}
		key, err := LoadOrCreateIdentity(path)
		if bit/8 >= keyStart {
			if !errors.Is(err, ErrKeyDamaged) || !strings.Contains(err.Error(), path) {
				t.Fatalf("bit %d of the key bytes flipped: err = %v, want ErrKeyDamaged naming %s", bit-8*keyStart, err, path)
			}
			continue
		}
		if err == nil && !key.Equals(orig) {
			t.Fatalf("bit %d flipped: accepted as another key", bit)
		}
	}
}
