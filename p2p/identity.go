package p2p

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"

	"github.com/collab-editor/collab/store"
)

// ErrKeyDamaged is returned (wrapped) by LoadOrCreateIdentity when the key
// file decodes but its halves do not belong together: what it signs does
// not verify under the public key (and peer ID) it declares, so every
// connection would fail.
var ErrKeyDamaged = errors.New("identity key is damaged")

// ErrKeyPermissions is returned (wrapped) by LoadOrCreateIdentity when the
// key file can be read by the group or by others.
var ErrKeyPermissions = errors.New("identity key is accessible by other users")

// LoadOrCreateIdentity returns the Ed25519 private key stored at path. If the
// file does not exist, a new key is generated and written there with mode
// 0600 (its directory is created with mode 0700 if missing). Like ssh, it
// refuses a key file that the group or others may access, with an error that
// wraps ErrKeyPermissions and suggests chmod 600; it never changes the mode of
// an existing file itself.
//
// The file holds the key in libp2p's protobuf encoding
// (crypto.MarshalPrivateKey).
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	if path == "" {
		return nil, errors.New("load identity: empty path")
	}
	key, err := loadIdentity(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}

	key, _, err = crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode identity key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create identity directory: %w", err)
	}
	// Created atomically and durably, never replacing a key: two processes
	// racing to create it agree on the first one's.
	if err := store.CreateFile(path, raw); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Someone else created it in the meantime: use theirs.
			return loadIdentity(path)
		}
		return nil, fmt.Errorf("install identity key: %w", err)
	}
	return key, nil
}

const maxKeyFileSize = 64 << 10

func loadIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open identity key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat identity key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("identity key %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("load identity: %s has mode %#o: %w; run: chmod 600 %s",
			path, perm, ErrKeyPermissions, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read identity key: %w", err)
	}
	if len(raw) > maxKeyFileSize {
		return nil, fmt.Errorf("identity key %s is too large", path)
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("decode identity key %s: %w", path, err)
	}
	if key.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("identity key %s is %s, want Ed25519", path, key.Type())
	}
	if err := checkKeyPair(key); err != nil {
		return nil, fmt.Errorf("load identity: %s: %w (%v); move it aside to start with a new identity, which peers will see as a new peer", path, ErrKeyDamaged, err)
	}
	return key, nil
}

// checkKeyPair signs with key and verifies with its public half: an Ed25519
// key file holds both, and a flipped bit in either leaves a key that
// decodes yet cannot prove the peer ID derived from it.
func checkKeyPair(key crypto.PrivKey) error {
	msg := []byte("collab identity self-check")
	sig, err := key.Sign(msg)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	ok, err := key.GetPublic().Verify(msg, sig)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !ok {
		return errors.New("its public key does not match its private key")
	}
	return nil
}
