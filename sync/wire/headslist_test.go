package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestHeadsListRoundTrip(t *testing.T) {
	docs := []DocHeads{
		{Document: [16]byte{1}, Heads: [][32]byte{{0xaa}, {0xbb}}},
		{Document: [16]byte{2}, Heads: [][32]byte{}}, // a note with no changes yet
		{Document: [16]byte{3}, Heads: [][32]byte{{0xcc}}},
	}
	data, err := EncodeHeadsList(docs)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*17 + 3*32; len(data) != want {
		t.Errorf("%d bytes for three documents and three heads, want %d", len(data), want)
	}
	got, err := DecodeHeadsList(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, docs) {
		t.Fatalf("round trip:\n got %v\nwant %v", got, docs)
	}
}

// Whatever is not exactly a list within the bounds is refused with
// ErrBadHeadsList, before anything of it is used.
func TestHeadsListRefusesMalformed(t *testing.T) {
	one, _ := EncodeHeadsList([]DocHeads{{Document: [16]byte{1}, Heads: [][32]byte{{1}}}})
	tooMany := make([]byte, 0, (MaxHeadsListDocs+1)*17)
	for i := range MaxHeadsListDocs + 1 {
		var id [16]byte
		id[0], id[1] = byte(i), byte(i>>8)
		tooMany = append(append(tooMany, id[:]...), 0)
	}
	bigCount := append(make([]byte, 16), 0x80, 0x01) // 128 heads claimed
	cases := map[string][]byte{
		"empty":             nil,
		"short id":          make([]byte, 10),
		"truncated heads":   one[:len(one)-1],
		"trailing byte":     append(one, 0),
		"too many heads":    append(bigCount, make([]byte, 128*32)...),
		"too many docs":     tooMany,
		"document twice":    append(one, one...),
		"unterminated uleb": append(make([]byte, 16), 0x80),
	}
	for name, data := range cases {
		if _, err := DecodeHeadsList(data); !errors.Is(err, ErrBadHeadsList) {
			t.Errorf("%s: %v, want ErrBadHeadsList", name, err)
		}
	}
	if _, err := EncodeHeadsList(make([]DocHeads, MaxHeadsListDocs+1)); !errors.Is(err, ErrBadHeadsList) {
		t.Errorf("encoding too many documents: %v", err)
	}
	if _, err := EncodeHeadsList([]DocHeads{{Heads: make([][32]byte, MaxHeadsPerDoc+1)}}); !errors.Is(err, ErrBadHeadsList) {
		t.Errorf("encoding too many heads: %v", err)
	}
}

func FuzzDecodeHeadsList(f *testing.F) {
	one, _ := EncodeHeadsList([]DocHeads{{Document: [16]byte{1}, Heads: [][32]byte{{1}, {2}}}, {Document: [16]byte{2}}})
	f.Add(one)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := DecodeHeadsList(data)
		if err != nil {
			return
		}
		again, err := EncodeHeadsList(docs)
		if err != nil {
			t.Fatalf("a decoded list does not encode: %v", err)
		}
		if string(again) != string(data) {
			t.Fatalf("re-encoded list differs")
		}
	})
}
