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
	carryMagic       = "CLBCRY"
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

// Resynchronising after a damaged record is bounded: the next record is looked
// for only as far as one record can reach, and the checksums computed while
// looking are capped per parse, so garbage cannot make a read quadratic.
const (
	maxResyncDistance = recordHeaderSize + MaxRecordSize
	resyncBudget      = 4 * MaxRecordSize
)

// damage is a run of bytes between two valid records that the reader
// skipped: a record whose length or checksum is wrong, followed by more
// valid records. Offsets are relative to the parsed buffer.
type damage struct {
	off, n int
	why    string
}

// parseRecords parses framed records from buf, which starts at a record
// boundary. It returns the valid records (sub-slices of buf), the number of
// bytes up to the end of the last valid record, the damaged runs it skipped
// on the way, and why it stopped. A damaged record is skipped when a valid
// record follows it (a flipped bit mid-log must not hide the records after
// it); a bad record with no valid record after it is the tail, as a torn
// write is. It never reads past buf.
func parseRecords(buf []byte) (recs [][]byte, n int, skipped []damage, tail tailState, why string) {
	budget := resyncBudget
	for n < len(buf) {
		size, bad, reason := checkRecord(buf[n:])
		if bad == tailClean {
			recs = append(recs, buf[n+recordHeaderSize:n+size])
			n += size
			continue
		}
		next, ok := resync(buf, n, &budget)
		if !ok {
			return recs, n, skipped, bad, reason
		}
		skipped = append(skipped, damage{off: n, n: next - n, why: reason})
		n = next
	}
	return recs, n, skipped, tailClean, ""
}

// checkRecord validates the record at the start of rest and returns its
// framed size, or why it is not a record.
func checkRecord(rest []byte) (size int, tail tailState, why string) {
	if len(rest) < recordHeaderSize {
		return 0, tailIncomplete, fmt.Sprintf("%d-byte partial record header", len(rest))
	}
	length := binary.LittleEndian.Uint32(rest[0:])
	sum := binary.LittleEndian.Uint32(rest[4:])
	if length == 0 || length > MaxRecordSize {
		return 0, tailCorrupt, fmt.Sprintf("invalid record length %d", length)
	}
	if uint64(len(rest)-recordHeaderSize) < uint64(length) {
		return 0, tailIncomplete, fmt.Sprintf("record of %d bytes has only %d", length, len(rest)-recordHeaderSize)
	}
	if checksum(rest[recordHeaderSize:recordHeaderSize+int(length)]) != sum {
		return 0, tailCorrupt, "record checksum mismatch"
	}
	return recordHeaderSize + int(length), tailClean, ""
}

// resync finds the next valid record after the bad one at buf[bad:]. The end
// the bad record claims comes first (a flipped payload or checksum byte
// leaves its length intact, and scanning inside its payload could match a
// record embedded in it); then every later offset, within maxResyncDistance
// and while budget (bytes checksummed) lasts. Nothing valid found means the
// bad record is the tail.
func resync(buf []byte, bad int, budget *int) (next int, ok bool) {
	valid := func(off int) bool {
		rest := buf[off:]
		if len(rest) < recordHeaderSize {
			return false
		}
		length := binary.LittleEndian.Uint32(rest[0:])
		if length == 0 || length > MaxRecordSize || uint64(len(rest)-recordHeaderSize) < uint64(length) {
			return false
		}
		*budget -= int(length)
		return *budget >= 0 && checksum(rest[recordHeaderSize:recordHeaderSize+int(length)]) == binary.LittleEndian.Uint32(rest[4:])
	}
	if len(buf)-bad >= recordHeaderSize {
		claimed := uint64(binary.LittleEndian.Uint32(buf[bad:]))
		if end := uint64(bad) + recordHeaderSize + claimed; claimed > 0 && claimed <= MaxRecordSize && end < uint64(len(buf)) && valid(int(end)) {
			return int(end), true
		}
	}
	for off := bad + 1; off+recordHeaderSize < len(buf) && off-bad <= maxResyncDistance && *budget >= 0; off++ {
		if valid(off) {
			return off, true
		}
	}
	return 0, false
}

// readLogBytes parses a whole log file: header and records. validEnd is the
// file offset just after the last valid record; skipped runs are file
// offsets. err is non-nil only for a bad header; a bad tail is reported
// through tail and why.
func readLogBytes(data []byte) (recs [][]byte, validEnd int, skipped []damage, tail tailState, why string, err error) {
	if err := checkHeader(data, logMagic, "log"); err != nil {
		return nil, 0, nil, tailClean, "", err
	}
	recs, n, skipped, tail, why := parseRecords(data[logHeaderSize:])
	for i := range skipped {
		skipped[i].off += logHeaderSize
	}
	return recs, logHeaderSize + n, skipped, tail, why, nil
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
	// ErrReadOnly: a write through a Notebook opened with OpenReadOnly.
	ErrReadOnly = errors.New("notebook opened read-only")
)
