package store

import (
	"os"
	"strings"
	"time"
)

// Modified is when the note's snapshot or log last changed on disk (the
// zero time if it cannot be read): the "last change" a notes list shows
// without loading the note.
func (l *NoteLog) Modified() time.Time { return modifiedIn(l.dir) }

// NoteModified is NoteLog.Modified for note id without opening the note
// (a search over every note asks it of each match).
func (nb *Notebook) NoteModified(id string) time.Time {
	if ValidateID(id) != nil {
		return time.Time{}
	}
	return modifiedIn(nb.noteDir(id))
}

func modifiedIn(dir string) time.Time {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}
	}
	var latest time.Time
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), logPrefix) && !strings.HasPrefix(e.Name(), snapPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().After(latest) {
			latest = info.ModTime()
		}
	}
	return latest
}
