package p2p

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
)

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
