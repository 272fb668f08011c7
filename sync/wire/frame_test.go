package wire

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/multiformats/go-varint"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReadFrameTooLargeDoesNotAllocate(t *testing.T) {
	for _, n := range []uint64{1 << 30, MaxFrameSize + 1, varint.MaxValueUvarint63} {
		input := append(varint.ToUvarint(n), bytes.Repeat([]byte{0xa0}, 10)...)
		var err error
		alloc := allocated(func() {
			_, err = NewFrameReader(bytes.NewReader(input)).ReadFrame()
		})
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("length %d: %v, want ErrFrameTooLarge", n, err)
		}
		if alloc > 1<<20 {
			t.Errorf("length %d: allocated %d bytes", n, alloc)
		}
	}
}

func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	// A peer claims a 60 MiB frame but sends 3 MiB and stops.
	input := append(varint.ToUvarint(60<<20), make([]byte, 3<<20)...)
	var err error
	alloc := allocated(func() {
		_, err = NewFrameReader(bytes.NewReader(input)).ReadFrame()
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if alloc > 16<<20 {
		t.Errorf("allocated %d bytes for 3 MiB received", alloc)
	}
}

// A reader's admit sees each frame's length before the body is read or
// allocated; its refusal ends the read, and frames it admits come whole.
func TestReadFrameAdmit(t *testing.T) {
	var input bytes.Buffer
	fw := NewFrameWriter(&input)
	for _, size := range []int{10, 5000} {
		if err := fw.WriteFrame(bytes.Repeat([]byte{7}, size)); err != nil {
			t.Fatal(err)
		}
	}
	input.Write(varint.ToUvarint(40 << 20)) // a claim, with no body after it
	fr := NewFrameReader(&input)
	errTooBig := errors.New("too big for this peer")
	var seen []int
	admit := func(size int) error {
		seen = append(seen, size)
		if size > 1<<20 {
			return errTooBig
		}
		return nil
	}
	for _, want := range []int{10, 5000} {
		b, err := fr.ReadFrameAdmit(admit)
		if err != nil || len(b) != want {
			t.Fatalf("ReadFrameAdmit = %d bytes, %v; want %d bytes", len(b), err, want)
		}
	}
	var err error
	alloc := allocated(func() { _, err = fr.ReadFrameAdmit(admit) })
	if !errors.Is(err, errTooBig) {
		t.Errorf("a refused frame: %v, want the admit error", err)
	}
	if alloc > 1<<20 {
		t.Errorf("a refused 40 MiB frame allocated %d bytes", alloc)
	}
	if want := []int{10, 5000, 40 << 20}; !slices.Equal(seen, want) {
		t.Errorf("admit saw %v, want %v", seen, want)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
	}{
		{"body cut short", append(varint.ToUvarint(100), bytes.Repeat([]byte{1}, 10)...)},
		{"body missing", varint.ToUvarint(100)},
		{"large body cut short", append(varint.ToUvarint(5<<20), make([]byte, readChunk+7)...)},
		{"length cut short", []byte{0x80}},
		{"length cut short after a whole frame", []byte{0x01, 0xa0, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := NewFrameReader(bytes.NewReader(tt.input))
			var err error
			for range 3 {
				if _, err = fr.ReadFrame(); err != nil {
					break
				}
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestReadFrameMalformedLength(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"non-minimal zero", []byte{0x80, 0x00, 0xa0}, varint.ErrNotMinimal},
		{"non-minimal one", []byte{0x81, 0x80, 0x00, 0xa0}, varint.ErrNotMinimal},
		{"ten bytes", bytes.Repeat([]byte{0xff}, 10), varint.ErrOverflow},
		{"nine continuation bytes", append(bytes.Repeat([]byte{0x80}, 8), 0x80, 0x01), varint.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFrameReader(bytes.NewReader(tt.input)).ReadFrame()
			if !errors.Is(err, ErrMalformedFrame) || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want ErrMalformedFrame and %v", err, tt.want)
			}
		})
	}
}

func TestReadFrameEOF(t *testing.T) {
	fr := NewFrameReader(bytes.NewReader(nil))
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
	fr = NewFrameReader(bytes.NewReader([]byte{0x01, 0xa0}))
	if f, err := fr.ReadFrame(); err != nil || !bytes.Equal(f, []byte{0xa0}) {
		t.Fatalf("first frame: %x, %v", f, err)
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	frames := [][]byte{
		{0xa0},
		bytes.Repeat([]byte{7}, 127), // one-byte length
		bytes.Repeat([]byte{8}, 128), // two-byte length
		bytes.Repeat([]byte{9}, 3*readChunk+12345),
	}
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	for _, f := range frames {
		if err := fw.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := buf.Bytes()[:2], []byte{0x01, 0xa0}; !bytes.Equal(got, want) {
		t.Errorf("first frame on the wire %x, want %x", got, want)
	}
	fr := NewFrameReader(&buf)
	for i, want := range frames {
		got, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got), len(want))
		}
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestWriteFrameRefuses(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	if err := fw.WriteFrame(nil); err == nil {
		t.Error("empty frame written")
	}
	if err := fw.WriteFrame(make([]byte, MaxFrameSize+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("oversized frame: %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written", buf.Len())
	}
	if err := fw.WriteMessage(&Sync{}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("invalid message: %v, want ErrInvalidMessage", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("stream reset") }

func TestWriteFrameError(t *testing.T) {
	err := NewFrameWriter(failWriter{}).WriteFrame([]byte{0xa0})
	if err == nil || err.Error() != "write frame: stream reset" {
		t.Errorf("got %v", err)
	}
}

func TestFrameWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	const writers, each = 8, 50
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			m := &Ephemeral{SenderID: "s", TargetID: "t", DocumentID: "d", SessionID: "x", Count: uint64(w), Data: bytes.Repeat([]byte{byte(w)}, 5000)}
			for range each {
				if err := fw.WriteMessage(m); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	fr := NewFrameReader(&buf)
	for range writers * each {
		m, err := fr.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		e := m.(*Ephemeral)
		if !bytes.Equal(e.Data, bytes.Repeat([]byte{byte(e.Count)}, 5000)) {
			t.Fatal("interleaved frames")
		}
	}
}
