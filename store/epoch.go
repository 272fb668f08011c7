package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Epochs. A note's history may be cut: a new epoch begins with a new
// document (made by the caller from the note's text) in a new generation,
// and the previous epoch's whole document is kept as an archive. Records
// of one epoch never meet another's document, so a reader that reaches a
// generation beginning an epoch stops there with ErrNewEpoch and loads
// again; Load never falls back across an epoch's start.
//
//	epoch.<gen>     generation gen begins an epoch: EpochInfo as JSON ("CLBEPO")
//	archive.<k>     the whole document of epoch k when epoch k+1 began ("CLBSNP")
//
// Both are kept for as long as the note exists.

const (
	epochPrefix   = "epoch."
	archivePrefix = "archive."
	epochMagic    = "CLBEPO"
)

func epochName(gen uint64) string { return epochPrefix + strconv.FormatUint(gen, 10) }
func archiveName(k uint64) string { return archivePrefix + strconv.FormatUint(k, 10) }

// EpochInfo says how an epoch of a note began. The zero EpochInfo is epoch
// 0, which began with the note.
type EpochInfo struct {
	Epoch uint64   `json:"epoch"`
	Heads []string `json:"heads"` // where in the previous epoch it began
	Root  string   `json:"root"`  // its first change's hash
	Gen   uint64   `json:"gen"`   // the generation it began with (set by StartEpoch)
}

// ErrNewEpoch: the note began a new epoch since this reader last read it;
// Load again (the records of the old epoch it had not read are in the
// archive).
var ErrNewEpoch = errors.New("the note began a new epoch")

// readEpoch reads epoch.<gen>; ok is false when there is none.
func (l *NoteLog) readEpoch(gen uint64) (info EpochInfo, ok bool, err error) {
	name := epochName(gen)
	b, err := os.ReadFile(l.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return EpochInfo{}, false, nil
	}
	if err != nil {
		return EpochInfo{}, false, fmt.Errorf("read %s: %w", name, err)
	}
	payload, err := decodeBlob(epochMagic, name, b)
	if err != nil {
		return EpochInfo{}, false, err
	}
	if err := json.Unmarshal(payload, &info); err != nil {
		return EpochInfo{}, false, fmt.Errorf("%s: %v: %w", name, err, ErrCorrupt)
	}
	return info, true, nil
}

// Epoch returns the epoch the reader's generation belongs to (the zero
// EpochInfo for epoch 0).
func (l *NoteLog) Epoch() (EpochInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return EpochInfo{}, err
	}
	info, _, err := l.readEpochAt(l.gen)
	if err != nil {
		return EpochInfo{}, fmt.Errorf("note %s: %w", l.id, err)
	}
	return info, nil
}

// Archive returns the whole document of epoch k as it was when epoch k+1
// began.
func (l *NoteLog) Archive(k uint64) ([]byte, error) {
	name := archiveName(k)
	b, err := os.ReadFile(l.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("note %s: %s: %w", l.id, name, ErrNotFound)
		}
		return nil, fmt.Errorf("note %s: read %s: %w", l.id, name, err)
	}
	data, err := decodeBlob(snapMagic, name, b)
	if err != nil {
		return nil, fmt.Errorf("note %s: %w", l.id, err)
	}
	return data, nil
}

// StartEpoch ends the note's epoch and begins the next. Under the
// exclusive lock it reads the records not yet seen and calls
// begin(unseen); begin applies them to the caller's document and returns
// that whole document (the archive of the epoch that ends), how the new
// epoch begins (info.Epoch must be the next number) and the new epoch's
// first document. StartEpoch writes archive.<k>, epoch.<G+1>, snap.<G+1>
// and an empty log.<G+1>, each atomically and the new log last, so a
// crash leaves either the old epoch or the new one. Other readers get
// ErrNewEpoch from their next Poll or Append.
func (l *NoteLog) StartEpoch(begin func(unseen [][]byte) (archive []byte, info EpochInfo, first []byte, err error)) error {
	return l.beginEpoch(false, begin)
}

// AdoptEpoch makes a note that holds nothing yet (a joiner's) go on in a
// later epoch, which began elsewhere: like StartEpoch, with info.Epoch any
// later one and no archive (the epochs before were never here). begin
// returns a nil archive.
func (l *NoteLog) AdoptEpoch(begin func(unseen [][]byte) (archive []byte, info EpochInfo, first []byte, err error)) error {
	return l.beginEpoch(true, begin)
}

func (l *NoteLog) beginEpoch(adopt bool, begin func(unseen [][]byte) (archive []byte, info EpochInfo, first []byte, err error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(true); err != nil {
		return err
	}
	if err := l.writable("start an epoch of"); err != nil {
		return err
	}
	if err := l.lock(unix.LOCK_EX); err != nil {
		return err
	}
	defer l.unlock()
	// ErrNewEpoch when another process began one since this reader last
	// read: the caller follows it first.
	unseen, err := l.catchUp(true)
	if err != nil {
		return fmt.Errorf("start an epoch of note %s: %w", l.id, err)
	}
	cur, _, err := l.readEpochAt(l.gen)
	if err != nil {
		l.pending = unseen
		return fmt.Errorf("start an epoch of note %s: %w", l.id, err)
	}
	archive, info, first, err := begin(unseen)
	if err != nil {
		l.pending = unseen
		return fmt.Errorf("start an epoch of note %s: %w", l.id, err)
	}
	switch {
	case adopt && (info.Epoch <= cur.Epoch || archive != nil):
		return fmt.Errorf("adopt epoch %d of note %s: it is in epoch %d", info.Epoch, l.id, cur.Epoch)
	case !adopt && info.Epoch != cur.Epoch+1:
		return fmt.Errorf("start an epoch of note %s: epoch %d follows %d, not %d", l.id, info.Epoch, cur.Epoch, cur.Epoch+1)
	}
	if err := l.setAsideDamaged(); err != nil {
		return fmt.Errorf("start an epoch of note %s: %w", l.id, err)
	}
	info.Gen = l.gen + 1
	if !adopt {
		if err := writeFileAtomic(l.path(archiveName(cur.Epoch)), encodeBlob(snapMagic, archive), tmpPrefix); err != nil {
			return fmt.Errorf("start an epoch of note %s: write %s: %w", l.id, archiveName(cur.Epoch), err)
		}
	}
	return l.switchGeneration(first, nil, &info)
}

// markEpoch writes epoch.<gen> for info, or with info nil removes one a
// crashed StartEpoch left (its generation never began). The caller holds
// the exclusive lock.
func (l *NoteLog) markEpoch(gen uint64, info *EpochInfo) error {
	if info == nil {
		if err := os.Remove(l.path(epochName(gen))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	payload, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return writeFileAtomic(l.path(epochName(gen)), encodeBlob(epochMagic, payload), tmpPrefix)
}

// epochGens lists the generations that begin an epoch. The caller holds mu.
func (l *NoteLog) epochGens() ([]uint64, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	for _, e := range entries {
		if g, ok := parseGen(e.Name(), epochPrefix); ok {
			gens = append(gens, g)
		}
	}
	return gens, nil
}

// readEpochAt is the epoch generation gen belongs to. The caller holds mu.
func (l *NoteLog) readEpochAt(gen uint64) (EpochInfo, bool, error) {
	gens, err := l.epochGens()
	if err != nil {
		return EpochInfo{}, false, err
	}
	var best uint64
	found := false
	for _, g := range gens {
		if g <= gen && (!found || g > best) {
			best, found = g, true
		}
	}
	if !found {
		return EpochInfo{}, false, nil
	}
	return l.readEpoch(best)
}

// EpochInfo returns how epoch k (≥ 1) of the note began.
func (l *NoteLog) EpochInfo(k uint64) (EpochInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gens, err := l.epochGens()
	if err != nil {
		return EpochInfo{}, fmt.Errorf("note %s: %w", l.id, err)
	}
	for _, g := range gens {
		info, found, err := l.readEpoch(g)
		if err != nil {
			return EpochInfo{}, fmt.Errorf("note %s: %w", l.id, err)
		}
		if found && info.Epoch == k && info.Gen == g {
			return info, nil
		}
	}
	return EpochInfo{}, fmt.Errorf("note %s: epoch %d: %w", l.id, k, ErrNotFound)
}
