package store

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzReadLog feeds arbitrary bytes to the log reader: it must never panic
// and must return only records that are framed correctly with valid
// checksums; records and skipped damaged runs together cover the bytes from
// the header to validEnd, in order, with no gap.
func FuzzReadLog(f *testing.F) {
	valid := logHeader()
	for _, r := range []string{"a", "hello world", "\x00\x01\x02"} {
		valid = appendRecord(valid, []byte(r))
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(logHeader())
	f.Add([]byte{})
	flipped := bytes.Clone(valid)
	flipped[logHeaderSize+recordHeaderSize+1+5] ^= 0x10 // the checksum of "hello world"
	f.Add(flipped)
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, end, skipped, tail, why, err := readLogBytes(data)
		if err != nil {
			if len(rs) != 0 || end != 0 || len(skipped) != 0 {
				t.Fatalf("header error %v but %d records", err, len(rs))
			}
			return
		}
		if end < logHeaderSize || end > len(data) {
			t.Fatalf("validEnd %d outside [%d, %d]", end, logHeaderSize, len(data))
		}
		if (tail == tailClean) != (end == len(data)) || (tail == tailClean) != (why == "") {
			t.Fatalf("tail %v, why %q, validEnd %d of %d", tail, why, end, len(data))
		}
		off := logHeaderSize
		re := logHeader()
		for i, r := range rs {
			for len(skipped) > 0 && skipped[0].off == off {
				if skipped[0].n <= 0 || skipped[0].why == "" {
					t.Fatalf("empty or unexplained skipped run %+v", skipped[0])
				}
				re = append(re, data[off:off+skipped[0].n]...)
				off += skipped[0].n
				skipped = skipped[1:]
			}
			length := binary.LittleEndian.Uint32(data[off:])
			sum := binary.LittleEndian.Uint32(data[off+4:])
			if int(length) != len(r) || len(r) == 0 || len(r) > MaxRecordSize {
				t.Fatalf("record %d: length field %d, record %d bytes", i, length, len(r))
			}
			payload := data[off+recordHeaderSize : off+recordHeaderSize+len(r)]
			if !bytes.Equal(payload, r) || checksum(r) != sum {
				t.Fatalf("record %d: payload or checksum mismatch", i)
			}
			off += recordHeaderSize + len(r)
			re = appendRecord(re, r)
		}
		if len(skipped) != 0 {
			t.Fatalf("skipped runs %+v not followed by a record", skipped)
		}
		if off != end {
			t.Fatalf("records and skipped runs cover %d bytes, validEnd %d", off, end)
		}
		// Re-encoding the records, with the skipped runs in between,
		// reproduces the valid prefix exactly.
		if !bytes.Equal(re, data[:end]) {
			t.Fatal("re-encoded records differ from the valid prefix")
		}
	})
}
