package wire

import (
	"errors"
	"fmt"

	"github.com/multiformats/go-varint"
)

// DocHeads is one document's heads in a collab-heads-list: the document ID
// (the 16 bytes its automerge URL encodes) and its heads, raw change
// hashes.
type DocHeads struct {
	Document [16]byte
	Heads    [][32]byte
}

// Bounds of a collab-heads-list, checked on both sides: a list never
// makes its receiver hold more than a few MB.
const (
	// MaxHeadsListDocs is the most documents one list names; more go in
	// several lists.
	MaxHeadsListDocs = 4096
	// MaxHeadsPerDoc is the most heads one document may state (concurrent
	// branches not yet merged; real notes have one or a few).
	MaxHeadsPerDoc = 64
)

// ErrBadHeadsList: collab-heads-list data that is not a valid list.
var ErrBadHeadsList = errors.New("malformed collab-heads-list")

// EncodeHeadsList packs docs: for each, its 16 ID bytes, a ULEB128 count
// of heads and that many 32-byte hashes. It refuses lists beyond the
// bounds above.
func EncodeHeadsList(docs []DocHeads) ([]byte, error) {
	if len(docs) == 0 || len(docs) > MaxHeadsListDocs {
		return nil, fmt.Errorf("%w: %d documents (1 to %d)", ErrBadHeadsList, len(docs), MaxHeadsListDocs)
	}
	size := 0
	for _, d := range docs {
		if len(d.Heads) > MaxHeadsPerDoc {
			return nil, fmt.Errorf("%w: %d heads for one document (at most %d)", ErrBadHeadsList, len(d.Heads), MaxHeadsPerDoc)
		}
		size += 16 + 1 + 32*len(d.Heads)
	}
	out := make([]byte, 0, size)
	for _, d := range docs {
		out = append(out, d.Document[:]...)
		out = append(out, varint.ToUvarint(uint64(len(d.Heads)))...)
		for _, h := range d.Heads {
			out = append(out, h[:]...)
		}
	}
	return out, nil
}

// DecodeHeadsList unpacks what EncodeHeadsList packed, refusing anything
// else: a truncated entry, a count beyond the bounds, a document named
// twice.
func DecodeHeadsList(data []byte) ([]DocHeads, error) {
	var docs []DocHeads
	seen := map[[16]byte]bool{}
	for p := 0; p < len(data); {
		if len(docs) == MaxHeadsListDocs {
			return nil, fmt.Errorf("%w: more than %d documents", ErrBadHeadsList, MaxHeadsListDocs)
		}
		if len(data)-p < 17 {
			return nil, fmt.Errorf("%w: truncated entry at byte %d", ErrBadHeadsList, p)
		}
		var d DocHeads
		copy(d.Document[:], data[p:p+16])
		p += 16
		count, n, err := varint.FromUvarint(data[p:])
		if err != nil {
			return nil, fmt.Errorf("%w: head count at byte %d: %w", ErrBadHeadsList, p, err)
		}
		p += n
		if count > MaxHeadsPerDoc {
			return nil, fmt.Errorf("%w: %d heads for one document (at most %d)", ErrBadHeadsList, count, MaxHeadsPerDoc)
		}
		if uint64(len(data)-p) < count*32 {
			return nil, fmt.Errorf("%w: truncated heads at byte %d", ErrBadHeadsList, p)
		}
		if seen[d.Document] {
			return nil, fmt.Errorf("%w: a document named twice", ErrBadHeadsList)
		}
		seen[d.Document] = true
		d.Heads = make([][32]byte, count)
		for i := range d.Heads {
			copy(d.Heads[i][:], data[p:p+32])
			p += 32
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: no documents", ErrBadHeadsList)
	}
	return docs, nil
}
