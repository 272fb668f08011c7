package amformat

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// Magic starts every Automerge chunk.
var Magic = [4]byte{0x85, 0x6f, 0x4a, 0x83}

// ChunkType says what a chunk holds.
type ChunkType uint8

// Chunk types.
const (
	ChunkDocument   ChunkType = 0
	ChunkChange     ChunkType = 1
	ChunkCompressed ChunkType = 2 // a DEFLATE-compressed change
)

// Like every enum's String here: one case per constant, nothing to share.
func (t ChunkType) String() string {
	switch t {
	case ChunkDocument:
		return "document"
	case ChunkChange:
		return "change"
	case ChunkCompressed:
		return "compressed change"
	}
	return fmt.Sprintf("chunk type %d", uint8(t))
}

// Chunk is one chunk of a file or message, its checksum verified.
type Chunk struct {
	Type ChunkType
	// Raw is the whole chunk as given, header included.
	Raw []byte
	// Body is the chunk's contents; for a compressed change, inflated.
	Body []byte
	// Hash is, for a change (compressed or not), the change hash; for a
	// document, the SHA-256 of its type, length and body.
	Hash Hash
}

// IsAutomerge reports whether b starts with the chunk magic.
func IsAutomerge(b []byte) bool { return len(b) >= 4 && bytes.Equal(b[:4], Magic[:]) }

// SplitChunks splits concatenated chunks (a saved document, an incremental
// save, change records), verifying each checksum and inflating compressed
// changes, within DefaultLimits.
func SplitChunks(b []byte) ([]Chunk, error) { return DefaultLimits.SplitChunks(b) }

// SplitChunks splits concatenated chunks within l.
func (l Limits) SplitChunks(b []byte) ([]Chunk, error) {
	if len(b) > l.MaxBytes {
		return nil, tooLarge("%d bytes exceed the limit of %d", len(b), l.MaxBytes)
	}
	if len(b) == 0 {
		return nil, malformed("no chunks")
	}
	var chunks []Chunk
	inflated := 0
	for off := 0; off < len(b); {
		if len(chunks) >= l.MaxChanges {
			return nil, tooLarge("more than %d chunks", l.MaxChanges)
		}
		ch, n, err := l.readChunk(b[off:], l.MaxInflated-inflated)
		if err != nil {
			return nil, fmt.Errorf("chunk %d at byte %d: %w", len(chunks), off, err)
		}
		if ch.Type == ChunkCompressed {
			inflated += len(ch.Body)
		}
		chunks = append(chunks, ch)
		off += n
	}
	return chunks, nil
}

// readChunk reads the chunk at the start of b, returning it and its length.
func (l Limits) readChunk(b []byte, inflateBudget int) (Chunk, int, error) {
	c := &cursor{b: b, what: "chunk header"}
	magic := c.bytes(4, "magic")
	if c.err != nil || !bytes.Equal(magic, Magic[:]) {
		return Chunk{}, 0, malformed("not an automerge chunk (bad magic bytes)")
	}
	var sum [4]byte
	copy(sum[:], c.bytes(4, "checksum"))
	typ := ChunkType(c.byte1("chunk type"))
	n := c.uleb("chunk length")
	if c.err != nil {
		return Chunk{}, 0, c.err
	}
	if typ > ChunkCompressed {
		return Chunk{}, 0, malformed("unknown chunk type %d", typ)
	}
	body := c.bytes(n, "chunk body")
	if c.err != nil {
		return Chunk{}, 0, c.err
	}
	ch := Chunk{Type: typ, Raw: b[:c.pos], Body: body}
	if typ == ChunkCompressed {
		inner, err := inflate(body, inflateBudget)
		if err != nil {
			return Chunk{}, 0, fmt.Errorf("compressed change: %w", err)
		}
		ch.Body = inner
		ch.Hash = hashBody(ChunkChange, inner)
	} else {
		ch.Hash = hashBody(typ, body)
	}
	if !bytes.Equal(ch.Hash[:4], sum[:]) {
		return Chunk{}, 0, fmt.Errorf("%w: %v chunk", ErrChecksum, typ)
	}
	return ch, c.pos, nil
}

// hashBody is the SHA-256 of a chunk's type, length and body: for a change
// chunk, its hash.
func hashBody(typ ChunkType, body []byte) Hash {
	var hdr [11]byte
	hdr[0] = byte(typ)
	h := sha256.New()
	h.Write(appendUleb(hdr[:1], uint64(len(body))))
	h.Write(body)
	var out Hash
	h.Sum(out[:0])
	return out
}

// appendChunk appends a chunk with the given type and body.
func appendChunk(b []byte, typ ChunkType, body []byte) []byte {
	return appendHashedChunk(b, typ, body, hashBody(typ, body))
}

// appendHashedChunk is appendChunk given the body's hash (hashBody).
func appendHashedChunk(b []byte, typ ChunkType, body []byte, h Hash) []byte {
	b = append(b, Magic[:]...)
	b = append(b, h[:4]...)
	b = append(b, byte(typ))
	b = appendUleb(b, uint64(len(body)))
	return append(b, body...)
}
