//go:build !linux

package store

import "os"

func renameNoReplace(oldpath, newpath string) error {
	return renameNoReplaceFallback(oldpath, newpath)
}

func datasync(f *os.File) error { return f.Sync() }
