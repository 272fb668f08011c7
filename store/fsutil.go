package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

const (
	dirMode  = 0o700
	fileMode = 0o600
)

// mkdirPrivate creates dir with mode 0700 regardless of the umask. An
// existing directory is accepted as it is.
func mkdirPrivate(dir string) error {
	err := os.Mkdir(dir, dirMode)
	if err == nil {
		return os.Chmod(dir, dirMode)
	}
	if errors.Is(err, fs.ErrExist) {
		st, serr := os.Stat(dir)
		if serr != nil {
			return serr
		}
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	return err
}

// createPrivate creates a new file with mode 0600 regardless of the umask.
func createPrivate(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// openOrCreatePrivate opens path for reading and writing, creating it 0600
// if it does not exist (lock files: their content never matters).
func openOrCreatePrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = createPrivate(path, os.O_RDWR)
		if errors.Is(err, fs.ErrExist) {
			f, err = os.OpenFile(path, os.O_RDWR, 0)
		}
	}
	return f, err
}

// createTemp creates a uniquely named 0600 file in dir.
func createTemp(dir, prefix string) (*os.File, error) {
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// writeFileAtomic writes data to path via a temporary file in the same
// directory: write, fsync, close, rename. A reader sees the old or the new
// file, never a mixture. It does not fsync the directory.
func writeFileAtomic(path string, data []byte, tmpPrefix string) error {
	return writeVia(path, data, tmpPrefix, os.Rename)
}

// writeVia writes data to a temporary file beside path (write, fsync,
// close) and puts it at path with place; the temporary file is removed if
// anything fails.
func writeVia(path string, data []byte, tmpPrefix string, place func(tmp, path string) error) (err error) {
	f, err := createTemp(filepath.Dir(path), tmpPrefix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return place(tmp, path)
}

// WriteFile replaces the file at path with data so that a crash leaves the
// old file or the new one, never a mixture or nothing: a temporary 0600
// file in the same directory, fsync, rename, fsync the directory. It is
// the one atomic file writer of collab (exports use it too).
func WriteFile(path string, data []byte) error {
	if err := writeFileAtomic(path, data, tmpPrefix); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// CreateFile writes a new 0600 file at path as durably as WriteFile, but
// never replaces one: if path exists it fails with an error matching
// fs.ErrExist and leaves that file as it is, so processes racing to create
// the same file (an identity key) all end up with the first one's.
func CreateFile(path string, data []byte) error {
	if err := writeVia(path, data, tmpPrefix, renameNoReplace); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so that renames and creations in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// isExist reports whether err means the target of a rename or create exists.
func isExist(err error) bool {
	return errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)
}

// renameNoReplaceFallback is used where renameat2(RENAME_NOREPLACE) is not
// available. It has a small race with a concurrent creator of newpath.
func renameNoReplaceFallback(oldpath, newpath string) error {
	if _, err := os.Lstat(newpath); err == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: syscall.EEXIST}
	}
	return os.Rename(oldpath, newpath)
}
