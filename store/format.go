package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// FormatVersion is the on-disk format version this build reads and writes.
const FormatVersion = 1

// MaxRecordSize is the largest record Append accepts. A length field above it
// is treated as corruption.
const MaxRecordSize = 64 << 20

const (
	magicLen         = 6
	logMagic         = "CLBLOG"
	snapMagic        = "CLBSNP"
	viewMagic        = "CLBVEW"
	logHeaderSize    = magicLen + 2
	recordHeaderSize = 8
	blobHeaderSize   = magicLen + 2 + 8 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// logHeader returns the header that starts every log file.
func logHeader() []byte {
	h := make([]byte, logHeaderSize)
	copy(h, logMagic)
	binary.LittleEndian.PutUint16(h[magicLen:], FormatVersion)
	return h
}

// checkHeader verifies magic and version at the start of b.
func checkHeader(b []byte, magic, what string) error {
	if len(b) < magicLen+2 {
		return fmt.Errorf("%s: header truncated (%d bytes): %w", what, len(b), ErrCorrupt)
	}
	if string(b[:magicLen]) != magic {
		return fmt.Errorf("%s: bad magic %q: %w", what, b[:magicLen], ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint16(b[magicLen:]); v != FormatVersion {
		return fmt.Errorf("%s: format version %d, this build reads only version %d: %w",
			what, v, FormatVersion, ErrVersion)
	}
	return nil
}

// tailState says why record parsing stopped.
type tailState int

const (
	tailClean      tailState = iota // parsed to the end
	tailIncomplete                  // a record is cut short: torn write or a write in progress
	tailCorrupt                     // a complete but invalid record: bad length or checksum
)

func (t tailState) String() string {
	switch t {
	case tailClean:
		return "clean"
	case tailIncomplete:
		return "incomplete record"
	default:
		return "corrupt record"
	}
}

// appendRecord appends the framed record to dst.
func appendRecord(dst, rec []byte) []byte {
	var h [recordHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(rec)))
	binary.LittleEndian.PutUint32(h[4:], checksum(rec))
	dst = append(dst, h[:]...)
	return append(dst, rec...)
}

// parseRecords parses framed records from buf, which starts at a record
// boundary. It returns the valid records (sub-slices of buf), the number of
// bytes they occupy, and why it stopped. It never reads past buf.
func parseRecords(buf []byte) (recs [][]byte, n int, tail tailState, why string) {
	for n < len(buf) {
		rest := buf[n:]
		if len(rest) < recordHeaderSize {
			return recs, n, tailIncomplete, fmt.Sprintf("%d-byte partial record header", len(rest))
		}
		length := binary.LittleEndian.Uint32(rest[0:])
		sum := binary.LittleEndian.Uint32(rest[4:])
		if length == 0 || length > MaxRecordSize {
			return recs, n, tailCorrupt, fmt.Sprintf("invalid record length %d", length)
		}
		if uint64(len(rest)-recordHeaderSize) < uint64(length) {
			return recs, n, tailIncomplete, fmt.Sprintf("record of %d bytes has only %d", length, len(rest)-recordHeaderSize)
		}
		payload := rest[recordHeaderSize : recordHeaderSize+int(length)]
		if checksum(payload) != sum {
			return recs, n, tailCorrupt, "record checksum mismatch"
		}
		recs = append(recs, payload)
		n += recordHeaderSize + int(length)
	}
	return recs, n, tailClean, ""
}

// readLogBytes parses a whole log file: header and records. validEnd is the
// file offset just after the last valid record. err is non-nil only for a bad
// header; a bad tail is reported through tail and why.
func readLogBytes(data []byte) (recs [][]byte, validEnd int, tail tailState, why string, err error) {
	if err := checkHeader(data, logMagic, "log"); err != nil {
		return nil, 0, tailClean, "", err
	}
	recs, n, tail, why := parseRecords(data[logHeaderSize:])
	return recs, logHeaderSize + n, tail, why, nil
}

// encodeBlob frames payload as a checksummed snapshot or view file.
func encodeBlob(magic string, payload []byte) []byte {
	b := make([]byte, blobHeaderSize, blobHeaderSize+len(payload))
	copy(b, magic)
	binary.LittleEndian.PutUint16(b[magicLen:], FormatVersion)
	binary.LittleEndian.PutUint64(b[magicLen+2:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(b[magicLen+10:], checksum(payload))
	return append(b, payload...)
}

// decodeBlob verifies a snapshot or view file and returns its payload.
func decodeBlob(magic, what string, b []byte) ([]byte, error) {
	if err := checkHeader(b, magic, what); err != nil {
		return nil, err
	}
	if len(b) < blobHeaderSize {
		return nil, fmt.Errorf("%s: header truncated (%d bytes): %w", what, len(b), ErrCorrupt)
	}
	length := binary.LittleEndian.Uint64(b[magicLen+2:])
	sum := binary.LittleEndian.Uint32(b[magicLen+10:])
	payload := b[blobHeaderSize:]
	if uint64(len(payload)) != length {
		return nil, fmt.Errorf("%s: length field %d but %d payload bytes: %w", what, length, len(payload), ErrCorrupt)
	}
	if checksum(payload) != sum {
		return nil, fmt.Errorf("%s: checksum mismatch: %w", what, ErrCorrupt)
	}
	return payload, nil
}

// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	// ErrNotFound: no such live note (or trashed note, or view).
	ErrNotFound = errors.New("not found")
	// ErrExists: a live note with that id already exists.
	ErrExists = errors.New("already exists")
	// ErrCorrupt: data on disk failed validation.
	ErrCorrupt = errors.New("corrupt data")
	// ErrVersion: a file was written in a format version this build does not read.
	ErrVersion = errors.New("unsupported format version")
	// ErrStale: this NoteLog fell too far behind compactions by other
	// processes to catch up record by record; call Load again.
	ErrStale = errors.New("reader is behind a compaction; reload")
	// ErrNotLoaded: the NoteLog was opened with OpenNote and Load has not
	// been called yet.
	ErrNotLoaded = errors.New("note not loaded")
	// ErrClosed: the NoteLog was closed.
	ErrClosed = errors.New("note log closed")
	// ErrInvalidID: not a valid note id.
	ErrInvalidID = errors.New("invalid note id")
	// ErrInvalidRecord: an empty record or one larger than MaxRecordSize.
	ErrInvalidRecord = errors.New("invalid record")
)
