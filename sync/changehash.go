package sync

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/collab-editor/collab/crdt"
)

// Automerge's binary chunks: magic, 4-byte checksum, chunk type, ULEB128
// length, body. A change's hash is the SHA-256 of type, length and body of
// its uncompressed form; the checksum is the hash's first 4 bytes.
var chunkMagic = []byte{0x85, 0x6f, 0x4a, 0x83}

const (
	chunkChange           = 1
	chunkCompressedChange = 2
)

var errNotAChange = errors.New("not a single automerge change")

// changeHash checks that b is exactly one automerge change chunk and
// returns its hash, computed here rather than trusted from the sender (so a
// peer cannot make us skip or loop a change by naming a false hash).
func changeHash(b []byte) (crdt.ChangeHash, error) {
	var h crdt.ChangeHash
	if len(b) < 10 || !bytes.Equal(b[:4], chunkMagic) {
		return h, fmt.Errorf("%w: bad header", errNotAChange)
	}
	typ := b[8]
	n, k := binary.Uvarint(b[9:])
	if k <= 0 || uint64(len(b)-9-k) != n {
		return h, fmt.Errorf("%w: bad length", errNotAChange)
	}
	switch typ {
	case chunkChange:
		h = sha256.Sum256(b[8:])
	case chunkCompressedChange:
		body, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b[9+k:])), MaxFrameSize+1))
		if err != nil || len(body) > MaxFrameSize {
			return h, fmt.Errorf("%w: bad compressed body", errNotAChange)
		}
		d := sha256.New()
		d.Write([]byte{chunkChange})
		d.Write(binary.AppendUvarint(nil, uint64(len(body))))
		d.Write(body)
		copy(h[:], d.Sum(nil))
	default:
		return h, fmt.Errorf("%w: chunk type %d", errNotAChange, typ)
	}
	if !bytes.Equal(h[:4], b[4:8]) {
		return h, fmt.Errorf("%w: bad checksum", errNotAChange)
	}
	return h, nil
}
