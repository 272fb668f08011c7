package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// settingMagic marks a notebook-wide setting file.
const settingMagic = "CLBSET"

// maxSettingSize bounds what a setting file may hold: settings are a few
// lines the user wrote with collab's commands; a larger file was not.
const maxSettingSize = 1 << 20

func (nb *Notebook) settingPath(name string) string {
	return filepath.Join(nb.dir, "setting."+name)
}

// WriteSetting atomically stores a notebook-wide setting (a small file,
// mode 0600, checksummed like a note's side files).
func (nb *Notebook) WriteSetting(name string, data []byte) error {
	if !validAuxName(name) {
		return fmt.Errorf("setting name %q: %w", name, ErrInvalidID)
	}
	if err := nb.writable("write setting " + name); err != nil {
		return err
	}
	if len(data) > maxSettingSize {
		return fmt.Errorf("setting %s: %d bytes, at most %d", name, len(data), maxSettingSize)
	}
	if err := writeFileAtomic(nb.settingPath(name), encodeBlob(settingMagic, data), tmpPrefix); err != nil {
		return fmt.Errorf("write setting %s: %w", name, err)
	}
	return nil
}

// ReadSetting reads a notebook-wide setting: a missing one is ErrNotFound,
// a damaged or oversized one ErrCorrupt.
func (nb *Notebook) ReadSetting(name string) ([]byte, error) {
	if !validAuxName(name) {
		return nil, fmt.Errorf("setting name %q: %w", name, ErrInvalidID)
	}
	f, err := os.Open(nb.settingPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("setting %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSettingSize+64))
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	if len(b) > maxSettingSize+32 {
		return nil, fmt.Errorf("setting %s: larger than %d bytes: %w", name, maxSettingSize, ErrCorrupt)
	}
	return decodeBlob(settingMagic, "setting "+name, b)
}

// SettingModified is the modification time of a setting's file (zero if
// there is none): a cheap check whether another process changed it.
func (nb *Notebook) SettingModified(name string) (int64, error) {
	st, err := os.Stat(nb.settingPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("setting %s: %w", name, err)
	}
	return st.ModTime().UnixNano(), nil
}
