package crdt

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
)

// DocumentID identifies a note everywhere: on disk, on the wire and in URLs.
// It is automerge-repo's: 16 random bytes (a UUIDv4), written as bs58check.
// Knowing a note's ID is what lets a peer ask for it, so IDs come from a CSPRNG.
type DocumentID [16]byte

// URLPrefix starts an automerge URL (automerge:<id>).
const URLPrefix = "automerge:"

// ErrBadDocumentID is returned for strings that are not a document ID or URL.
var ErrBadDocumentID = errors.New("not an automerge document id")

// NewDocumentID returns a fresh random UUIDv4.
func NewDocumentID() DocumentID {
	var id DocumentID
	if _, err := rand.Read(id[:]); err != nil {
		panic(fmt.Sprintf("crdt: reading random bytes: %v", err))
	}
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// ParseDocumentID accepts a bare bs58check ID or an automerge: URL.
func ParseDocumentID(s string) (DocumentID, error) {
	var id DocumentID
	s = strings.TrimPrefix(strings.TrimSpace(s), URLPrefix)
	raw, err := base58.Decode(s)
	if err != nil || len(raw) != len(id)+4 {
		return id, fmt.Errorf("%q: %w", s, ErrBadDocumentID)
	}
	if !bytes.Equal(raw[len(id):], checksum(raw[:len(id)])) {
		return id, fmt.Errorf("%q: bad checksum: %w", s, ErrBadDocumentID)
	}
	copy(id[:], raw)
	return id, nil
}

// String is the bs58check form used in automerge-repo document IDs.
func (id DocumentID) String() string {
	return base58.Encode(append(id[:], checksum(id[:])...))
}

// URL is the automerge: URL that automerge-repo's find() takes.
func (id DocumentID) URL() string { return URLPrefix + id.String() }

// IsZero reports whether id was never set.
func (id DocumentID) IsZero() bool { return id == DocumentID{} }

func checksum(b []byte) []byte {
	first := sha256.Sum256(b)
	second := sha256.Sum256(first[:])
	return second[:4]
}
