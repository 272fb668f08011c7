package wire

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/multiformats/go-varint"
)

// FuzzDecodeFrame feeds arbitrary bytes through FrameReader and Decode, and
// through Decode directly. Nothing may panic, no frame may be longer than
// MaxFrameSize or than the input, and whatever decodes must re-encode and
// decode to an equal message.
func FuzzDecodeFrame(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		fr := NewFrameReader(bytes.NewReader(data))
		for {
			frame, err := fr.ReadFrame()
			if err != nil {
				break
			}
			if len(frame) > MaxFrameSize || len(frame) > len(data) {
				t.Fatalf("frame of %d bytes from %d bytes of input", len(frame), len(data))
			}
			checkDecode(t, frame)
		}
	})
}

func checkDecode(t *testing.T, frame []byte) {
	m, err := Decode(frame)
	if err != nil {
		if m != nil {
			t.Fatalf("Decode returned %#v with error %v", m, err)
		}
		return
	}
	enc, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode(%#v) of a decoded message: %v", m, err)
	}
	m2, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Encode(%#v)): %v", m, err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip changed the message:\n was %#v\n now %#v", m, m2)
	}
}

// fuzzSeeds are framed streams of valid messages, cbor-x-shaped frames and a
// few broken inputs. testdata/fuzz/FuzzDecodeFrame holds the same seeds as
// files; regenerate them with COLLAB_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	frame := func(body []byte) []byte { return append(varint.ToUvarint(uint64(len(body))), body...) }
	var all []byte
	for _, m := range allMessages() {
		body, err := Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, frame(body))
		all = append(all, frame(body)...)
	}
	seeds = append(seeds, all)
	cborx := []cbx{
		cbx{}.obj(4).kv("type", "join").kv("senderId", "js").str("peerMetadata").
			obj(2).str("storageId").undef().str("isEphemeral").boolean(false).
			str("supportedProtocolVersions").arr(1).str("1"),
		cbx{}.obj(5).kv("type", "sync").kv("targetId", "go").str("data").bin([]byte{0x42, 0, 0}).
			kv("documentId", "d").kv("senderId", "js"),
		cbx{}.obj(7).kv("type", "ephemeral").kv("targetId", "go").kv("documentId", "d").
			str("data").bin([]byte{0xb9, 0, 0}).str("count").uint(7).kv("sessionId", "x").kv("senderId", "js"),
		cbx{}.obj(5).kv("type", "remote-heads-changed").kv("senderId", "js").kv("targetId", "go").kv("documentId", "d").
			str("newHeads").obj(1).str("st").obj(2).str("heads").arr(1).str("abcd").str("timestamp").f64(1722000000123),
		cbx{}.obj(3).kv("type", "beelay").kv("senderId", "js").str("x").arr(2).null().undef(),
	}
	for _, b := range cborx {
		seeds = append(seeds, frame(b))
	}
	seeds = append(seeds,
		nil,
		[]byte{0x00},
		[]byte{0x80, 0x00},
		append(varint.ToUvarint(1<<30), bytes.Repeat([]byte{0xa0}, 10)...),
		frame([]byte{0xff, 0xfe}),
		frame(cbx{}.obj(3).kv("type", "leave").kv("senderId", "a").kv("senderId", "b")),
	)
	return seeds
}

func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("COLLAB_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set COLLAB_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzDecodeFrame")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFrame")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, seed := range fuzzSeeds(t) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
