package crdt

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/collab-editor/collab/crdt/amformat"
)

// Automerge's binary chunks: magic, 4-byte checksum, chunk type, ULEB128
// length, body. A change's hash is the SHA-256 of type, length and body of
// its uncompressed form; the checksum is the hash's first 4 bytes.
var chunkMagic = []byte{0x85, 0x6f, 0x4a, 0x83}

const (
	chunkDocument         = 0
	chunkChange           = 1
	chunkCompressedChange = 2
)

// ErrNotAChange: the bytes are not exactly one automerge change.
var ErrNotAChange = errors.New("not a single automerge change")

// maxChangeSize bounds a compressed change's inflated size.
const maxChangeSize = 64 << 20

// IsAutomerge reports whether b starts with automerge's chunk magic: a
// saved document, or changes.
func IsAutomerge(b []byte) bool { return len(b) >= 4 && bytes.Equal(b[:4], chunkMagic) }

// IsDocument reports whether b starts like a whole saved automerge
// document (a document chunk), as opposed to changes.
func IsDocument(b []byte) bool {
	return len(b) >= 10 && bytes.Equal(b[:4], chunkMagic) && b[8] == chunkDocument
}

// DocumentHeads returns the heads a saved document states. They are the
// sender's claim: compare them with the heads the note has after applying
// the document before relying on them.
func DocumentHeads(b []byte) ([]ChangeHash, error) {
	hs, err := amformat.DefaultLimits.DocumentHeads(b)
	if err != nil {
		return nil, fmt.Errorf("document heads: %w", err)
	}
	out := make([]ChangeHash, len(hs))
	for i, h := range hs {
		out[i] = ChangeHash(h)
	}
	return out, nil
}

// HashOf checks that b is exactly one automerge change chunk and returns
// its hash, computed here rather than trusted from whoever sent it (so a
// peer cannot make us skip or loop a change by naming a false hash).
func HashOf(b []byte) (ChangeHash, error) {
	var h ChangeHash
	if len(b) < 10 || !bytes.Equal(b[:4], chunkMagic) {
		return h, fmt.Errorf("%w: bad header", ErrNotAChange)
	}
	typ := b[8]
	n, k := binary.Uvarint(b[9:])
	if k <= 0 || uint64(len(b)-9-k) != n {
		return h, fmt.Errorf("%w: bad length", ErrNotAChange)
	}
	switch typ {
	case chunkChange:
		h = sha256.Sum256(b[8:])
	case chunkCompressedChange:
		body, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b[9+k:])), maxChangeSize+1))
		if err != nil || len(body) > maxChangeSize {
			return h, fmt.Errorf("%w: bad compressed body", ErrNotAChange)
		}
		d := sha256.New()
		d.Write([]byte{chunkChange})
		d.Write(binary.AppendUvarint(nil, uint64(len(body))))
		d.Write(body)
		copy(h[:], d.Sum(nil))
	default:
		return h, fmt.Errorf("%w: chunk type %d", ErrNotAChange, typ)
	}
	if !bytes.Equal(h[:4], b[4:8]) {
		return h, fmt.Errorf("%w: bad checksum", ErrNotAChange)
	}
	return h, nil
}

// ParseChangeHash reads a change hash written as 64 hex digits (what
// ChangeHash.String gives).
func ParseChangeHash(s string) (ChangeHash, error) {
	var h ChangeHash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("change hash %q: want %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("change hash %q: %w", s, err)
	}
	return h, nil
}

// SyncMessageNews says what a version-1 sync message brings: how many
// changes it carries and how many it asks for.
func SyncMessageNews(msg []byte) (changes, needs int, err error) {
	m, err := amformat.DefaultLimits.DecodeSyncMessage(msg)
	if err != nil {
		return 0, 0, fmt.Errorf("sync message: %w", err)
	}
	return len(m.RawChanges), len(m.Need), nil
}
