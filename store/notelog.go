package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	lockName        = "lock"
	viewName        = "view"
	snapPrefix      = "snap."
	carryPrefix     = "carry."
	logPrefix       = "log."
	corruptPrefix   = "corrupt."
	viewTmpPrefix   = ".view-tmp-"
	maxWarningsKept = 100
)

func logName(gen uint64) string   { return logPrefix + strconv.FormatUint(gen, 10) }
func snapName(gen uint64) string  { return snapPrefix + strconv.FormatUint(gen, 10) }
func carryName(gen uint64) string { return carryPrefix + strconv.FormatUint(gen, 10) }

// parseGen parses the generation of "log.<gen>" or "snap.<gen>"; only the
// canonical decimal form is accepted.
func parseGen(name, prefix string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	g, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(g, 10) != s {
		return 0, false
	}
	return g, true
}

// Position is a point in a note's log: a generation and a byte offset in
// that generation's log file.
type Position struct {
	Gen    uint64
	Offset int64
}

// View is a small cache of what a note looked like at some log position.
type View struct {
	Title    string
	Text     string
	Heads    []string
	Position Position
}

// NoteLog is one note's files. Its methods are safe for concurrent use by
// the goroutines of one process (an internal mutex) and by several processes
// at once (flock on the note's lock file). Callbacks passed to it (Compact's
// save) must not call back into the same NoteLog.
type NoteLog struct {
	mu       sync.Mutex
	id       string
	dir      string
	readOnly bool // opened by a read-only Notebook: never writes, never locks exclusively

	lockF *os.File // opened once; flock target; nil when read-only and there is none

	loaded bool
	closed bool
	logF   *os.File // current generation's log, kept open across renames/unlinks
	gen    uint64
	pos    int64 // offset just after the last record read or written

	pending    [][]byte    // records read but not yet handed to the caller (after an error, or carried by CompactChecked)
	handed     Position    // while pending is not empty: everything before it was handed to the caller
	damaged    []logDamage // damaged runs skipped while reading, not yet set aside
	badTail    int64       // log size at which Poll last found an invalid tail, or -1
	badTailMod time.Time   // and the log's modification time then
	warnings   []error
}

// logDamage is a damaged run of bytes in log.<gen> that readers skip. It
// stays in the log until a compaction supersedes the log; before that, Compact
// copies it to corrupt.<gen>.at-<off> so no byte a user committed is lost.
type logDamage struct {
	gen    uint64
	off, n int64
}

func openNoteLog(id, dir string, readOnly bool) (*NoteLog, error) {
	if readOnly {
		// flock(2) takes a shared lock through a read-only descriptor. A
		// note without a lock file (someone removed it) is read unlocked:
		// a write in progress then looks like a torn tail, which readers
		// already stop at.
		f, err := os.Open(filepath.Join(dir, lockName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return &NoteLog{id: id, dir: dir, readOnly: true, lockF: f, badTail: -1}, nil
	}
	// A lock file is never removed, but recreate it if someone did.
	f, err := openOrCreatePrivate(filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	return &NoteLog{id: id, dir: dir, lockF: f, badTail: -1}, nil
}

// writable refuses a write on a NoteLog of a read-only Notebook.
func (l *NoteLog) writable(what string) error {
	if l.readOnly {
		return fmt.Errorf("%s note %s: %w", what, l.id, ErrReadOnly)
	}
	return nil
}

// logFlag is how log files are opened: read-write for a writer, which
// repairs torn tails and appends through the same descriptor.
func (l *NoteLog) logFlag() int {
	if l.readOnly {
		return os.O_RDONLY
	}
	return os.O_RDWR
}

// ID returns the note's id.
func (l *NoteLog) ID() string { return l.id }

// Close releases the NoteLog's files. It is safe to call more than once.
func (l *NoteLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	if l.logF != nil {
		errs = append(errs, l.logF.Close())
		l.logF = nil
	}
	if l.lockF != nil {
		errs = append(errs, l.lockF.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close note %s: %w", l.id, err)
	}
	return nil
}

// Position returns the reader's position: everything before it has been
// handed to the caller (by Load, Append, Poll or Compact).
func (l *NoteLog) Position() Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		// Read, not handed out: a view stamped past them would claim
		// records its document lacks.
		return l.handed
	}
	return Position{Gen: l.gen, Offset: l.pos}
}

// LogSize returns the number of bytes of records in the current generation
// as far as this reader has read; the caller decides when to Compact.
func (l *NoteLog) LogSize() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		return 0
	}
	return l.pos - logHeaderSize
}

// Warnings returns and clears the recoverable problems met outside Load
// (a damaged record skipped by Poll or Append, damaged bytes set aside by
// Compact, a torn tail repaired by Append, a bad tail in a superseded
// generation, failure to remove an old generation). At most 100 are kept.
func (l *NoteLog) Warnings() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.warnings
	l.warnings = nil
	return w
}

func (l *NoteLog) warn(err error) {
	if len(l.warnings) < maxWarningsKept {
		l.warnings = append(l.warnings, err)
	}
}

func (l *NoteLog) path(name string) string { return filepath.Join(l.dir, name) }

func (l *NoteLog) usable(needLoaded bool) error {
	if l.closed {
		return fmt.Errorf("note %s: %w", l.id, ErrClosed)
	}
	if needLoaded && !l.loaded {
		return fmt.Errorf("note %s: %w", l.id, ErrNotLoaded)
	}
	return nil
}

func (l *NoteLog) flock(how int) error {
	if l.lockF == nil {
		return nil
	}
	for {
		err := unix.Flock(int(l.lockF.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func (l *NoteLog) lock(how int) error {
	if err := l.flock(how); err != nil {
		return fmt.Errorf("lock note %s: %w", l.id, err)
	}
	return nil
}

func (l *NoteLog) unlock() { _ = l.flock(unix.LOCK_UN) }

// generations lists the generations that have a log and those that have a
// snapshot.
func (l *NoteLog) generations() (logs, snaps map[uint64]bool, err error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("note %s: %w", l.id, ErrNotFound)
		}
		return nil, nil, err
	}
	logs, snaps = map[uint64]bool{}, map[uint64]bool{}
	for _, e := range entries {
		if g, ok := parseGen(e.Name(), logPrefix); ok {
			logs[g] = true
		} else if g, ok := parseGen(e.Name(), snapPrefix); ok {
			snaps[g] = true
		}
	}
	return logs, snaps, nil
}

func (l *NoteLog) readSnapshot(gen uint64) ([]byte, error) {
	name := snapName(gen)
	b, err := os.ReadFile(l.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s missing: %w", name, ErrCorrupt)
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return decodeBlob(snapMagic, name, b)
}

// readWholeLog reads and parses an open log file of generation gen from its
// start. warns reports each damaged run skipped and a bad tail.
func readWholeLog(f *os.File, gen uint64) (recs [][]byte, validEnd int64, damaged []logDamage, warns []error, err error) {
	name := logName(gen)
	st, err := f.Stat()
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("stat %s: %w", name, err)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, 0, nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	recs, end, skipped, tail, why, err := readLogBytes(data)
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, d := range skipped {
		damaged = append(damaged, logDamage{gen: gen, off: int64(d.off), n: int64(d.n)})
		warns = append(warns, damageWarning(gen, d))
	}
	if tail != tailClean {
		warns = append(warns, fmt.Errorf("%s: %s at offset %d (%d bytes after it ignored): %w",
			name, why, end, len(data)-end, ErrCorrupt))
	}
	return recs, int64(end), damaged, warns, nil
}

func damageWarning(gen uint64, d damage) error {
	return fmt.Errorf("%s: %s at offset %d; %d damaged bytes skipped, the records after them read: %w",
		logName(gen), d.why, d.off, d.n, ErrCorrupt)
}

// Load reads the newest good snapshot and every valid record after it, and
// positions the reader at the end. snapshot is nil when the note has never
// been compacted. warnings list recoverable problems: a damaged record
// skipped mid-log (the records after it are read), a torn or corrupt log
// tail (ignored here; the next Append cuts it off), a bad newest snapshot
// skipped in favour of the previous generation. err is returned only when
// nothing trustworthy can be loaded, and then nothing on disk has been
// modified; Load never modifies anything on disk in any case. Load may be
// called again at any time (e.g. after ErrStale) to start over.
func (l *NoteLog) Load() (snapshot []byte, records [][]byte, warnings []error, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return nil, nil, nil, err
	}
	if err := l.lock(unix.LOCK_SH); err != nil {
		return nil, nil, nil, err
	}
	defer l.unlock()

	logs, _, err := l.generations()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load note %s: %w", l.id, err)
	}
	if len(logs) == 0 {
		return nil, nil, nil, fmt.Errorf("load note %s: no log file: %w", l.id, ErrCorrupt)
	}
	var gen uint64
	for g := range logs {
		gen = max(gen, g)
	}
	// A snap.<gen+1> without its log is the leftover of an interrupted
	// compaction; it is ignored and replaced by the next one.

	f, err := os.OpenFile(l.path(logName(gen)), l.logFlag(), 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load note %s: %w", l.id, err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	recs, end, damaged, logWarns, err := readWholeLog(f, gen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load note %s: %w", l.id, err)
	}

	if gen == 0 {
		records = recs
	} else if snap, serr := l.readSnapshot(gen); serr == nil {
		snapshot, records = snap, recs
	} else if errors.Is(serr, ErrVersion) {
		return nil, nil, nil, fmt.Errorf("load note %s: %w", l.id, serr)
	} else if _, begins, _ := l.readEpoch(gen); begins {
		// The generation before holds another epoch's document: its
		// records do not belong to this one.
		return nil, nil, nil, fmt.Errorf("load note %s: the snapshot that begins epoch at generation %d: %w (the epoch before is in %s)",
			l.id, gen, serr, archivePrefix+"*")
	} else {
		// Fall back to the previous generation: its snapshot and log hold
		// the same records as the bad snapshot.
		prev := gen - 1
		fail := func(perr error) error {
			return fmt.Errorf("load note %s: no usable snapshot: %w; fallback to generation %d failed: %w",
				l.id, serr, prev, perr)
		}
		if prev > 0 {
			if snapshot, err = l.readSnapshot(prev); err != nil {
				return nil, nil, nil, fail(err)
			}
		}
		pf, err := os.Open(l.path(logName(prev)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%s missing: %w", logName(prev), ErrCorrupt)
			}
			return nil, nil, nil, fail(err)
		}
		prevRecs, _, prevDamaged, prevWarns, err := readWholeLog(pf, prev)
		pf.Close()
		if err != nil {
			return nil, nil, nil, fail(err)
		}
		warnings = append(warnings, fmt.Errorf("note %s: %w; using generation %d instead", l.id, serr, prev))
		// log.<gen> may start with records carried over from log.<prev>.
		if _, carried, err := l.readCarry(gen); err != nil {
			warnings = append(warnings, fmt.Errorf("note %s: %w; its records may be handed out twice", l.id, err))
		} else {
			recs = recs[min(carried, len(recs)):]
		}
		logWarns = append(prevWarns, logWarns...)
		damaged = append(prevDamaged, damaged...)
		records = append(prevRecs, recs...)
	}
	for _, w := range logWarns {
		warnings = append(warnings, fmt.Errorf("note %s: %w", l.id, w))
	}

	keep = true
	if l.logF != nil {
		l.logF.Close()
	}
	l.logF, l.gen, l.pos, l.loaded = f, gen, end, true
	l.pending, l.badTail, l.damaged = nil, -1, damaged
	return snapshot, records, warnings, nil
}

func nlink(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// catchUp reads the records appended since the reader's position, following
// generation switches. The caller holds the shared or (writer) exclusive
// lock. A writer also cuts off an invalid tail of the current generation and
// checks that its log is still the note's current log. Records consumed
// before an error are kept in l.pending and returned by the next call.
func (l *NoteLog) catchUp(writer bool) (out [][]byte, err error) {
	if len(l.pending) == 0 {
		// Should this read's records end up pending, they begin here.
		l.handed = Position{Gen: l.gen, Offset: l.pos}
	}
	out, l.pending = l.pending, nil
	defer func() {
		if err != nil {
			l.pending, out = out, nil
		}
	}()
	for {
		next := logName(l.gen + 1)
		_, serr := os.Stat(l.path(next))
		nextExists := serr == nil
		if serr != nil && !errors.Is(serr, fs.ErrNotExist) {
			return out, fmt.Errorf("note %s: %w", l.id, serr)
		}
		st, err := l.logF.Stat()
		if err != nil {
			return out, fmt.Errorf("note %s: stat %s: %w", l.id, logName(l.gen), err)
		}
		size := st.Size()
		if size < l.pos {
			return out, fmt.Errorf("note %s: %s shrank below the read position (%d < %d): %w",
				l.id, logName(l.gen), size, l.pos, ErrStale)
		}
		if size > l.pos {
			buf := make([]byte, size-l.pos)
			if _, err := l.logF.ReadAt(buf, l.pos); err != nil {
				return out, fmt.Errorf("note %s: read %s: %w", l.id, logName(l.gen), err)
			}
			recs, n, skipped, tail, why := parseRecords(buf)
			for _, d := range skipped {
				d.off += int(l.pos)
				l.damaged = append(l.damaged, logDamage{gen: l.gen, off: int64(d.off), n: int64(d.n)})
				l.warn(fmt.Errorf("note %s: %w", l.id, damageWarning(l.gen, d)))
			}
			out = append(out, recs...)
			l.pos += int64(n)
			if tail != tailClean {
				switch {
				case nextExists:
					l.warn(fmt.Errorf("note %s: superseded %s: %s at offset %d: %w",
						l.id, logName(l.gen), why, l.pos, ErrCorrupt))
				case writer:
					if err := l.repairTail(tail, why, size); err != nil {
						return out, err
					}
				default:
					l.badTail, l.badTailMod = size, st.ModTime()
				}
			}
		}
		if !nextExists {
			if writer {
				cur, err := os.Stat(l.path(logName(l.gen)))
				if err != nil || !os.SameFile(cur, st) {
					if _, derr := os.Stat(l.dir); errors.Is(derr, fs.ErrNotExist) {
						return out, fmt.Errorf("note %s was trashed or removed: %w", l.id, ErrNotFound)
					}
					return out, fmt.Errorf("note %s: %s was replaced: %w", l.id, logName(l.gen), ErrStale)
				}
			} else if nlink(st) == 0 {
				return out, fmt.Errorf("note %s: %s was removed: %w", l.id, logName(l.gen), ErrStale)
			}
			return out, nil
		}
		// Generation gen is complete and immutable; continue in gen+1 from
		// its start. Its snapshot holds nothing we have not read, unless it
		// begins an epoch: a new document, to be loaded whole.
		if _, err := os.Stat(l.path(epochName(l.gen + 1))); err == nil {
			return out, fmt.Errorf("note %s: %w", l.id, ErrNewEpoch)
		}
		nf, err := os.OpenFile(l.path(next), l.logFlag(), 0)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return out, fmt.Errorf("note %s: %s already removed: %w", l.id, next, ErrStale)
			}
			return out, fmt.Errorf("note %s: %w", l.id, err)
		}
		hdr := make([]byte, logHeaderSize)
		if _, err := nf.ReadAt(hdr, 0); err != nil {
			nf.Close()
			return out, fmt.Errorf("note %s: read %s header: %w", l.id, next, err)
		}
		if err := checkHeader(hdr, logMagic, next); err != nil {
			nf.Close()
			return out, fmt.Errorf("note %s: %w", l.id, err)
		}
		// Records a checked compaction carried over from gen were read
		// there already.
		start := int64(logHeaderSize)
		if skip, _, err := l.readCarry(l.gen + 1); err != nil {
			l.warn(fmt.Errorf("note %s: %w; its records may be handed out twice", l.id, err))
		} else {
			start += skip
		}
		l.logF.Close()
		l.logF, l.pos, l.badTail = nf, start, -1
		l.gen++
	}
}

// writeCarry records that log.<gen> starts with n bytes (count records)
// carried over from log.<gen-1>; with n == 0 it removes the record.
func (l *NoteLog) writeCarry(gen uint64, n int64, count int) error {
	if n == 0 {
		if err := os.Remove(l.path(carryName(gen))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	payload := binary.LittleEndian.AppendUint64(nil, uint64(n))
	payload = binary.LittleEndian.AppendUint64(payload, uint64(count))
	return writeFileAtomic(l.path(carryName(gen)), encodeBlob(carryMagic, payload), tmpPrefix)
}

// readCarry reads what writeCarry wrote (0, 0 when there is none).
func (l *NoteLog) readCarry(gen uint64) (n int64, count int, err error) {
	name := carryName(gen)
	b, err := os.ReadFile(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err == nil {
		b, err = decodeBlob(carryMagic, name, b)
	}
	if err == nil && len(b) != 16 {
		err = fmt.Errorf("%s: %d bytes, want 16: %w", name, len(b), ErrCorrupt)
	}
	if err != nil {
		return 0, 0, err
	}
	size, c := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	if size > MaxRecordSize*1024 || c > size {
		return 0, 0, fmt.Errorf("%s: %d bytes in %d records: %w", name, size, c, ErrCorrupt)
	}
	return int64(size), int(c), nil
}

// repairTail truncates the current log to l.pos, the end of its last valid
// record. The caller holds the exclusive lock, so the tail is not a write in
// progress: it is a write that was never acknowledged (the writer was killed
// before its fsync and unlock) or damage. A torn record and a damaged length
// field look the same, so unless the cut is a mere partial record header the
// cut bytes are first copied to corrupt.<gen>.<nanos>: nothing is discarded
// without a copy.
func (l *NoteLog) repairTail(tail tailState, why string, size int64) error {
	cut := size - l.pos
	if tail == tailCorrupt || cut >= recordHeaderSize {
		buf := make([]byte, cut)
		if _, err := l.logF.ReadAt(buf, l.pos); err != nil {
			return fmt.Errorf("note %s: read bad tail: %w", l.id, err)
		}
		name := corruptPrefix + strconv.FormatUint(l.gen, 10) + "." + strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := writeFileAtomic(l.path(name), buf, tmpPrefix); err != nil {
			return fmt.Errorf("note %s: save bad tail before repair: %w", l.id, err)
		}
		l.warn(fmt.Errorf("note %s: %s: %s at offset %d; %d bytes cut off and kept in %s: %w",
			l.id, logName(l.gen), why, l.pos, cut, name, ErrCorrupt))
	} else {
		l.warn(fmt.Errorf("note %s: %s: torn tail (%s) at offset %d; %d unacknowledged bytes cut off",
			l.id, logName(l.gen), why, l.pos, cut))
	}
	if err := l.logF.Truncate(l.pos); err != nil {
		return fmt.Errorf("note %s: repair %s: %w", l.id, logName(l.gen), err)
	}
	if err := datasync(l.logF); err != nil {
		return fmt.Errorf("note %s: repair %s: %w", l.id, logName(l.gen), err)
	}
	l.badTail = -1
	return nil
}

// Append durably appends records. Under the exclusive inter-process lock it
// first reads the records other processes appended since this reader's
// position (returned as others, for the caller to apply), cuts off a torn
// tail left by a killed writer, writes all records with one write, fsyncs and
// unlocks. On error (e.g. ENOSPC) the log is truncated back to its previous
// end and the wrapped error is returned; earlier records are not harmed, and
// records read from others are returned by the next Append or Poll.
// Records must be 1..MaxRecordSize bytes. Append with no records just reads
// the others (like Poll, but waiting for the lock).
func (l *NoteLog) Append(records ...[]byte) (others [][]byte, err error) {
	size := 0
	for i, r := range records {
		if len(r) == 0 || len(r) > MaxRecordSize {
			return nil, fmt.Errorf("append to note %s: record %d has %d bytes (allowed 1..%d): %w",
				l.id, i, len(r), MaxRecordSize, ErrInvalidRecord)
		}
		size += recordHeaderSize + len(r)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return nil, err
	}
	if err := l.writable("append to"); err != nil {
		return nil, err
	}
	if err := l.lock(unix.LOCK_EX); err != nil {
		return nil, err
	}
	defer l.unlock()

	others, err = l.catchUp(true)
	if err != nil || len(records) == 0 {
		return others, err
	}
	buf := make([]byte, 0, size)
	for _, r := range records {
		buf = appendRecord(buf, r)
	}
	end := l.pos
	_, err = l.logF.WriteAt(buf, end)
	if err == nil {
		err = datasync(l.logF)
	}
	if err != nil {
		err = fmt.Errorf("append to note %s: %w", l.id, err)
		if terr := l.logF.Truncate(end); terr != nil {
			err = errors.Join(err, fmt.Errorf("truncate back to %d: %w", end, terr))
		} else if serr := datasync(l.logF); serr != nil {
			err = errors.Join(err, fmt.Errorf("sync after truncate: %w", serr))
		}
		l.pending = others
		return nil, err
	}
	l.pos = end + int64(len(buf))
	return others, nil
}

// Poll returns the records other processes appended since the last read. It
// never blocks: if a writer holds the lock it reports nothing yet, and an
// incomplete or invalid record at the tail is "not yet" (the next Append by
// anyone repairs a truly torn tail). When nothing changed it costs two
// stat calls. It returns ErrStale if this reader fell more than one backup
// generation behind; call Load again then.
func (l *NoteLog) Poll() ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return nil, err
	}
	if len(l.pending) == 0 {
		st, err := l.logF.Stat()
		if err != nil {
			return nil, fmt.Errorf("poll note %s: %w", l.id, err)
		}
		_, serr := os.Stat(l.path(logName(l.gen + 1)))
		if errors.Is(serr, fs.ErrNotExist) && nlink(st) > 0 &&
			(st.Size() == l.pos || st.Size() == l.badTail && st.ModTime().Equal(l.badTailMod)) {
			return nil, nil
		}
	}
	if err := l.flock(unix.LOCK_SH | unix.LOCK_NB); err != nil {
		if err == unix.EWOULDBLOCK {
			return nil, nil // a writer is busy; its records come next time
		}
		return nil, fmt.Errorf("poll note %s: lock: %w", l.id, err)
	}
	defer l.unlock()
	return l.catchUp(false)
}

// Compact replaces the current generation with a snapshot. Under the
// exclusive lock it reads the records not yet seen and calls save(unseen);
// save must apply them to the caller's document and return the full
// document's bytes (and must not call this NoteLog). Compact then writes
// snap.<G+1> atomically (temp file, fsync, rename), creates an empty
// log.<G+1> the same way, fsyncs the directory, and only then removes the
// files of generations before G, keeping generation G as a backup.
//
// The snapshot should contain nothing that has not been appended to the log:
// other processes switch to the new generation without reading the snapshot.
// If save fails, the unseen records are handed out again by the next call.
func (l *NoteLog) Compact(save func(unseen [][]byte) ([]byte, error)) error {
	return l.CompactChecked(save, nil)
}

// CompactChecked is Compact for a snapshot that takes long to check. save
// runs under the lock as in Compact; check(snapshot) runs after the lock is
// released, so appends (this process's and others') go on meanwhile; then,
// under the lock again, the new generation is written with the records
// appended since save at the start of log.<G+1>. If another process
// compacted in between, nothing is replaced and the error wraps
// ErrCompactRaced. A nil check is none (Compact).
func (l *NoteLog) CompactChecked(save func(unseen [][]byte) ([]byte, error), check func(snapshot []byte) error) error {
	data, from, err := l.compactSave(save, check == nil)
	if err != nil || check == nil {
		return err
	}
	if err := check(data); err != nil {
		return fmt.Errorf("compact note %s: check: %w", l.id, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return err
	}
	if err := l.lock(unix.LOCK_EX); err != nil {
		return err
	}
	defer l.unlock()
	// What others appended meanwhile goes to the caller with its next Poll
	// or Append, as usual; it also moves to the new generation below.
	others, err := l.catchUp(true)
	l.pending = others
	if err != nil {
		return fmt.Errorf("compact note %s: %w", l.id, err)
	}
	if l.gen != from.Gen {
		return fmt.Errorf("compact note %s: %w", l.id, ErrCompactRaced)
	}
	if err := l.setAsideDamaged(); err != nil {
		return fmt.Errorf("compact note %s: %w", l.id, err)
	}
	var carried [][]byte
	if l.pos > from.Offset {
		buf := make([]byte, l.pos-from.Offset)
		if _, err := l.logF.ReadAt(buf, from.Offset); err != nil {
			return fmt.Errorf("compact note %s: read %s: %w", l.id, logName(l.gen), err)
		}
		// Damaged runs are skipped: setAsideDamaged kept their bytes.
		carried, _, _, _, _ = parseRecords(buf)
	}
	return l.switchGeneration(data, carried, nil)
}

// ErrCompactRaced: another process compacted the note while this one was
// checking its snapshot; nothing was replaced.
var ErrCompactRaced = errors.New("another process compacted the note first")

// compactSave is the first half of a compaction: under the exclusive lock,
// the unseen records go to save, whose snapshot covers the log up to the
// returned position. With switchNow it also writes the new generation
// before releasing the lock (Compact).
func (l *NoteLog) compactSave(save func(unseen [][]byte) ([]byte, error), switchNow bool) ([]byte, Position, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return nil, Position{}, err
	}
	if err := l.writable("compact"); err != nil {
		return nil, Position{}, err
	}
	if err := l.lock(unix.LOCK_EX); err != nil {
		return nil, Position{}, err
	}
	defer l.unlock()

	unseen, err := l.catchUp(true)
	if err != nil {
		return nil, Position{}, fmt.Errorf("compact: %w", err)
	}
	if err := l.setAsideDamaged(); err != nil {
		l.pending = unseen
		return nil, Position{}, fmt.Errorf("compact note %s: %w", l.id, err)
	}
	data, err := save(unseen)
	if err != nil {
		l.pending = unseen
		return nil, Position{}, fmt.Errorf("compact note %s: save: %w", l.id, err)
	}
	from := Position{Gen: l.gen, Offset: l.pos}
	if switchNow {
		return data, from, l.switchGeneration(data, nil, nil)
	}
	return data, from, nil
}

// switchGeneration writes snap.<G+1> and log.<G+1> (holding carried, the
// records after what the snapshot covers), moves to them, and removes the
// generations before G. The caller holds mu and the exclusive lock.
func (l *NoteLog) switchGeneration(data []byte, carried [][]byte, epoch *EpochInfo) error {
	old, gen := l.gen, l.gen+1
	l.removeTemps()
	// Before the snapshot: a reader that finds log.<G+1> must know whether
	// it begins an epoch.
	if err := l.markEpoch(gen, epoch); err != nil {
		return fmt.Errorf("note %s: mark %s: %w", l.id, epochName(gen), err)
	}

	snapPath := l.path(snapName(gen))
	if err := writeFileAtomic(snapPath, encodeBlob(snapMagic, data), tmpPrefix); err != nil {
		return fmt.Errorf("compact note %s: write %s: %w", l.id, snapName(gen), err)
	}
	// Before the log: once log.<G+1> exists, readers switching to it from
	// log.<G> must know where the records they have not read begin.
	carriedBytes := int64(0)
	for _, r := range carried {
		carriedBytes += int64(recordHeaderSize + len(r))
	}
	if err := l.writeCarry(gen, carriedBytes, len(carried)); err != nil {
		os.Remove(snapPath)
		return fmt.Errorf("compact note %s: write %s: %w", l.id, carryName(gen), err)
	}
	nf, end, err := l.createLog(gen, carried)
	if err != nil {
		os.Remove(snapPath)
		return fmt.Errorf("compact note %s: %w", l.id, err)
	}
	if err := syncDir(l.dir); err != nil {
		// The new generation may or may not survive a crash; either way it
		// is complete, so carry on with it.
		l.warn(fmt.Errorf("compact note %s: %w", l.id, err))
	}
	l.logF.Close()
	l.logF, l.gen, l.pos, l.badTail = nf, gen, end, -1

	// Keep generation old as the backup; remove everything before it.
	logs, snaps, err := l.generations()
	if err != nil {
		l.warn(fmt.Errorf("compact note %s: list old generations: %w", l.id, err))
		return nil
	}
	removed := false
	for _, set := range []struct {
		gens map[uint64]bool
		name func(uint64) string
	}{{logs, logName}, {snaps, snapName}, {logs, carryName}} {
		for g := range set.gens {
			if g < old {
				if err := os.Remove(l.path(set.name(g))); err != nil && !errors.Is(err, fs.ErrNotExist) {
					l.warn(fmt.Errorf("compact note %s: remove old generation: %w", l.id, err))
				}
				removed = true
			}
		}
	}
	if removed {
		if err := syncDir(l.dir); err != nil {
			l.warn(fmt.Errorf("compact note %s: %w", l.id, err))
		}
	}
	return nil
}

// setAsideDamaged copies each damaged run readers skipped to
// corrupt.<gen>.at-<offset> before a compaction supersedes its log (the
// log stays as the backup generation, and the next compaction removes it).
// The name is fixed by the run, so a run another process already set aside
// is not copied twice. The caller holds the exclusive lock.
func (l *NoteLog) setAsideDamaged() error {
	for len(l.damaged) > 0 {
		d := l.damaged[0]
		name := corruptPrefix + strconv.FormatUint(d.gen, 10) + ".at-" + strconv.FormatInt(d.off, 10)
		if _, err := os.Stat(l.path(name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("keep damaged bytes: %w", err)
			}
			buf, err := l.readLogRange(d)
			if errors.Is(err, fs.ErrNotExist) {
				// An older generation another process's compaction
				// already removed; nothing left to keep.
				l.warn(fmt.Errorf("note %s: damaged bytes of %s at offset %d: %w", l.id, logName(d.gen), d.off, err))
				l.damaged = l.damaged[1:]
				continue
			}
			if err != nil {
				return fmt.Errorf("keep damaged bytes: %w", err)
			}
			if err := writeFileAtomic(l.path(name), buf, tmpPrefix); err != nil {
				return fmt.Errorf("keep damaged bytes in %s: %w", name, err)
			}
			l.warn(fmt.Errorf("note %s: %d damaged bytes of %s at offset %d kept in %s: %w",
				l.id, d.n, logName(d.gen), d.off, name, ErrCorrupt))
		}
		l.damaged = l.damaged[1:]
	}
	l.damaged = nil
	return nil
}

func (l *NoteLog) readLogRange(d logDamage) ([]byte, error) {
	f := l.logF
	if d.gen != l.gen {
		var err error
		if f, err = os.Open(l.path(logName(d.gen))); err != nil {
			return nil, err
		}
		defer f.Close()
	}
	buf := make([]byte, d.n)
	if _, err := f.ReadAt(buf, d.off); err != nil {
		return nil, fmt.Errorf("read %s: %w", logName(d.gen), err)
	}
	return buf, nil
}

// createLog creates log.<gen> holding a header and records, atomically,
// and returns it opened read-write with the offset of its end.
func (l *NoteLog) createLog(gen uint64, records [][]byte) (*os.File, int64, error) {
	f, err := createTemp(l.dir, tmpPrefix)
	if err != nil {
		return nil, 0, fmt.Errorf("create %s: %w", logName(gen), err)
	}
	tmp := f.Name()
	buf := logHeader()
	for _, r := range records {
		buf = appendRecord(buf, r)
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = renameNoReplace(tmp, l.path(logName(gen)))
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, 0, fmt.Errorf("create %s: %w", logName(gen), err)
	}
	return f, int64(len(buf)), nil
}

// removeTemps removes leftovers of interrupted compactions. The caller holds
// the exclusive lock, so no compaction is in progress. View temporaries are
// removed only when old, since WriteView does not take the lock.
func (l *NoteLog) removeTemps() {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			os.Remove(l.path(name))
		case strings.HasPrefix(name, viewTmpPrefix):
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTempAfter {
				os.Remove(l.path(name))
			}
		}
	}
}

// WriteView atomically replaces the note's view cache (temp file, fsync,
// rename). v.Position is set to the reader's current position, so the view
// must reflect everything read so far.
func (l *NoteLog) WriteView(v View) error {
	v.Position = l.Position()
	return l.WriteViewAt(v)
}

// WriteViewAt replaces the view cache with v, which shows the note as of
// v.Position (taken with Position when v was). The log's lock is not held
// over the write and its fsync, so appends never wait for a view; keeping
// an older view from replacing a newer one is the caller's part.
func (l *NoteLog) WriteViewAt(v View) error {
	l.mu.Lock()
	err := l.usable(true)
	if err == nil {
		err = l.writable("write view of")
	}
	path := l.path(viewName)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write view of note %s: %w", l.id, err)
	}
	if err := writeFileAtomic(path, encodeBlob(viewMagic, payload), viewTmpPrefix); err != nil {
		return fmt.Errorf("write view of note %s: %w", l.id, err)
	}
	return nil
}

// ReadView reads the view cache. current reports whether its position is the
// end of the log on disk now (nothing was appended or compacted since). It
// does not need Load. A missing view is ErrNotFound; a damaged one ErrCorrupt.
func (l *NoteLog) ReadView() (v View, current bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return View{}, false, err
	}
	b, err := os.ReadFile(l.path(viewName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return View{}, false, fmt.Errorf("view of note %s: %w", l.id, ErrNotFound)
		}
		return View{}, false, fmt.Errorf("read view of note %s: %w", l.id, err)
	}
	payload, err := decodeBlob(viewMagic, viewName, b)
	if err != nil {
		return View{}, false, fmt.Errorf("note %s: %w", l.id, err)
	}
	v, ok := decodeViewOwned(payload)
	if !ok {
		// Not laid out as WriteView writes it (payload is now clobbered):
		// read it again for encoding/json.
		if b, err = os.ReadFile(l.path(viewName)); err != nil {
			return View{}, false, fmt.Errorf("read view of note %s: %w", l.id, err)
		}
		if payload, err = decodeBlob(viewMagic, viewName, b); err != nil {
			return View{}, false, fmt.Errorf("note %s: %w", l.id, err)
		}
		if v, err = (RawView{JSON: payload}).Decode(); err != nil {
			return View{}, false, fmt.Errorf("note %s: %w", l.id, err)
		}
	}
	return v, viewCurrent(l.dir, v.Position), nil
}

// viewCurrent reports whether a view at pos covers the whole log in the
// note directory dir: the log of its generation ends there and no newer
// generation has begun.
func viewCurrent(dir string, pos Position) bool {
	st, err := os.Stat(filepath.Join(dir, logName(pos.Gen)))
	if err != nil || st.Size() != pos.Offset {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, logName(pos.Gen+1)))
	return errors.Is(err, fs.ErrNotExist)
}
