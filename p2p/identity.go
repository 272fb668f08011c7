package p2p

import (
	"bytes"
	"crypto/ed25519"
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
// file decodes as an Ed25519 key whose public half is not the one its
// private half gives: a damaged file. libp2p does not check this, and such a
// key would sign handshakes that every peer rejects, so every dial would fail.
var ErrKeyDamaged = errors.New("identity key is damaged")

// ErrKeyPermissions is returned (wrapped) by LoadOrCreateIdentity when the
// key file can be read by the group or by others.
var ErrKeyPermissions = errors.New("identity key is accessible by other users")

// LoadOrCreateIdentity returns the Ed25519 private key stored at path. If the
// file does not exist, a new key is generated and written there with mode
// 0600 (its directory is created with mode 0700 if missing). Like ssh, it
// refuses a key file that the group or others may access, with an error that
// wraps ErrKeyPermissions and suggests chmod 600; it never changes the mode of
// an existing file itself. A key whose public half does not match its
// private half (a damaged file) is refused with an error that wraps
// ErrKeyDamaged, names the file and says what to do.
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
	if err := checkKeyHalves(key); err != nil {
		return nil, fmt.Errorf("load identity: %s: %w (%v); restore it from a backup, or move it aside "+
			"to start with a new identity (collaborators then see a new peer ID and must share the notes again)",
			path, ErrKeyDamaged, err)
	}
	return key, nil
}

// checkKeyHalves checks that the public half stored in an Ed25519 key is the
// one its seed derives.
func checkKeyHalves(key crypto.PrivKey) error {
	raw, err := key.Raw()
	if err != nil {
		return err
	}
	if len(raw) != ed25519.PrivateKeySize {
		return fmt.Errorf("%d key bytes, want %d", len(raw), ed25519.PrivateKeySize)
	}
	derived := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
	if !bytes.Equal(derived[ed25519.SeedSize:], raw[ed25519.SeedSize:]) {
		return errors.New("its public half does not match its private half")
	}
	return nil
}
