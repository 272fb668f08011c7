package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/multiformats/go-varint"
)

// MaxFrameSize is the largest CBOR body, in bytes, that one frame may carry
// (the varint length prefix is not counted).
//
// A cold join carries a note's whole missing history in a single automerge
// sync message, and automerge-repo has no way to split it. Measured on the
// paper trace (105 KB of text) that message is 646 KB with one commit per 100
// keystrokes but 30.4 MB with one commit per keystroke. 64 MiB lets such a
// per-keystroke history join in one message with about 2x headroom. A larger
// limit would only let a faulty or hostile peer make us buffer more: the
// reader grows its buffer as bytes arrive, so a claimed length costs nothing
// until the bytes are actually sent. A message that would exceed the limit is
// refused by the sender (Encode and WriteFrame return ErrFrameTooLarge) and a
// receiver that sees a larger length closes the stream; see PROTOCOL.md.
const MaxFrameSize = 64 << 20

// readChunk is how much of a frame body the reader allocates up front; larger
// bodies grow (doubling) as their bytes arrive.
const readChunk = 64 << 10

var (
	// ErrFrameTooLarge reports a frame whose length exceeds MaxFrameSize.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrMalformedFrame reports a frame length prefix that is not a minimal
	// unsigned varint of at most 9 bytes.
	ErrMalformedFrame = errors.New("malformed frame")
)

// FrameReader reads length-prefixed frames from a stream. It is not safe for
// concurrent use.
type FrameReader struct {
	br *bufio.Reader
}

// NewFrameReader returns a FrameReader that reads from r through a buffer.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// ReadFrame reads the next frame and returns its body, a new slice the caller
// owns. At a clean end of stream (no byte of a next frame) it returns io.EOF.
// A stream that ends inside a frame yields an error wrapping
// io.ErrUnexpectedEOF; a bad length prefix one wrapping ErrMalformedFrame; a
// length above MaxFrameSize one wrapping ErrFrameTooLarge, returned before
// anything is allocated for the body. After an error the stream is out of
// step and must be closed.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	return fr.ReadFrameAdmit(nil)
}

// ReadFrameAdmit is ReadFrame that lets the caller decide, once a frame's
// length is known and before anything is allocated for its body, whether to
// read it: admit (if not nil) gets the body's length, at most MaxFrameSize,
// and an error it returns is returned wrapped. This is where a reader
// applies a smaller limit or a memory budget, or sets a deadline for the
// rest of the frame: the wait for a frame's first byte is not bounded here,
// as a long-lived stream may rightly stay idle between frames.
func (fr *FrameReader) ReadFrameAdmit(admit func(size int) error) ([]byte, error) {
	n, err := varint.ReadUvarint(fr.br)
	if err != nil {
		switch {
		case err == io.EOF:
			return nil, io.EOF
		case errors.Is(err, varint.ErrOverflow), errors.Is(err, varint.ErrNotMinimal):
			return nil, fmt.Errorf("read frame length: %w: %w", ErrMalformedFrame, err)
		default:
			return nil, fmt.Errorf("read frame length: %w", err)
		}
	}
	if n > MaxFrameSize {
		return nil, fmt.Errorf("read frame: %w: length %d exceeds %d", ErrFrameTooLarge, n, MaxFrameSize)
	}
	if admit != nil {
		if err := admit(int(n)); err != nil {
			return nil, fmt.Errorf("read frame of %d bytes: %w", n, err)
		}
	}
	size := int(n)
	buf := make([]byte, 0, min(size, readChunk))
	for len(buf) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), size-len(buf)))
		}
		k, err := io.ReadFull(fr.br, buf[len(buf):min(cap(buf), size)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read frame body (%d of %d bytes): %w", len(buf), size, err)
		}
	}
	return buf, nil
}

// ReadMessage reads the next frame and decodes it; see ReadFrame and Decode
// for the errors.
func (fr *FrameReader) ReadMessage() (Message, error) {
	frame, err := fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	return Decode(frame)
}

// FrameWriter writes length-prefixed frames to a stream. It is safe for
// concurrent use: each frame is written and flushed whole.
type FrameWriter struct {
	mu sync.Mutex
	bw *bufio.Writer
}

// NewFrameWriter returns a FrameWriter that writes to w.
func NewFrameWriter(w io.Writer) *FrameWriter {
	return &FrameWriter{bw: bufio.NewWriterSize(w, 64<<10)}
}

// WriteFrame writes one frame with body frame and flushes it. It refuses an
// empty body and one larger than MaxFrameSize (ErrFrameTooLarge).
func (fw *FrameWriter) WriteFrame(frame []byte) error {
	if len(frame) == 0 {
		return errors.New("write frame: empty frame")
	}
	if len(frame) > MaxFrameSize {
		return fmt.Errorf("write frame: %w: length %d exceeds %d", ErrFrameTooLarge, len(frame), MaxFrameSize)
	}
	var prefix [varint.MaxLenUvarint63]byte
	n := varint.PutUvarint(prefix[:], uint64(len(frame)))

	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, err := fw.bw.Write(prefix[:n]); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if _, err := fw.bw.Write(frame); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if err := fw.bw.Flush(); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	return nil
}

// WriteMessage encodes m and writes it as one frame.
func (fw *FrameWriter) WriteMessage(m Message) error {
	frame, err := Encode(m)
	if err != nil {
		return err
	}
	return fw.WriteFrame(frame)
}
