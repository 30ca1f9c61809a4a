package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrDamaged is returned when the directory holds an earlier run's state
// but its store is missing or is another store: starting would silently
// begin again from an empty store.
var ErrDamaged = errors.New("data directory damaged")

// Guard tells a first start (an empty data directory) from a damaged one.
type Guard struct {
	// Dir is the data directory.
	Dir string
	// StoreFile is the database file in Dir (SQLite), or "" when the store
	// lives elsewhere (PostgreSQL).
	StoreFile string
	// Traces are other files or directories in Dir that only an earlier run
	// leaves (the JetStream store, the demo credentials).
	Traces []string
}

// BeforeOpen runs before the store is opened: a missing StoreFile beside an
// IDENTITY file or any trace of an earlier run is refused with ErrDamaged.
// It returns the store id IDENTITY names, or "" on a first start.
func (g Guard) BeforeOpen() (string, error) {
	identity, err := g.identity()
	if err != nil {
		return "", err
	}
	if g.StoreFile == "" || exists(filepath.Join(g.Dir, g.StoreFile)) {
		return identity, nil
	}
	var found []string
	if identity != "" {
		found = append(found, IdentityFile+" (store "+identity+")")
	}
	for _, name := range g.Traces {
		if exists(filepath.Join(g.Dir, name)) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return "", nil // a first start
	}
	return "", fmt.Errorf("%w: %s holds %s from an earlier run but its database %s is missing. "+
		"usher will not start on an empty store in its place. To recover, restore %s from a backup; "+
		"to start over and lose what the old store held, move the directory aside (mv %s %s.damaged) and start again",
		ErrDamaged, g.Dir, strings.Join(found, ", "), g.StoreFile, filepath.Join(g.Dir, g.StoreFile), g.Dir, g.Dir)
}

// AfterOpen runs once the store is open and names its id: a first start (or
// a directory from before IDENTITY existed) records it; a different id is
// refused with ErrDamaged.
func (g Guard) AfterOpen(identity, storeID string) error {
	if identity == storeID {
		return nil
	}
	if identity != "" {
		return fmt.Errorf("%w: %s belongs to store %s (its %s) but the database opened is store %s: "+
			"the database was replaced or usher points at another one. Restore the database of store %s, "+
			"or point usher at it; to start over with this database, move %s aside",
			ErrDamaged, g.Dir, identity, IdentityFile, storeID, identity, g.Dir)
	}
	if err := WriteFileSynced(filepath.Join(g.Dir, IdentityFile), []byte(storeID+"\n")); err != nil {
		return fmt.Errorf("data directory %s: write %s: %w", g.Dir, IdentityFile, err)
	}
	return nil
}

func (g Guard) identity() (string, error) {
	b, err := os.ReadFile(filepath.Join(g.Dir, IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("data directory %s: read %s: %w", g.Dir, IdentityFile, err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("%w: %s: %s is empty; it should name the directory's store", ErrDamaged, g.Dir, IdentityFile)
	}
	return id, nil
}

// exists reports whether path exists; a directory counts only when it is
// not empty.
func exists(path string) bool {
	info, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !info.IsDir() {
		return true
	}
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) > 0
}

// QueueFile records that the directory's embedded JetStream store holds
// usher's queue. Once it exists, a missing or emptied store is damage: the
// events it held were acknowledged to their senders and would be lost.
const QueueFile = "QUEUE"

// BeforeQueue runs before the embedded queue opens its store, storeDir (a
// directory in Dir): when QueueFile says an earlier run kept the queue
// there and storeDir is missing or empty, it refuses with ErrDamaged
// instead of letting the queue start again empty.
func (g Guard) BeforeQueue(storeDir string) error {
	if !exists(filepath.Join(g.Dir, QueueFile)) || exists(filepath.Join(g.Dir, storeDir)) {
		return nil
	}
	return fmt.Errorf("%w: %s kept its queue in %s (see %s), but %s is missing or empty: the events it held "+
		"were acknowledged and would be lost. usher will not start an empty queue in its place. To recover, restore %s "+
		"from a backup; to start over and lose them, move the directory aside (mv %s %s.damaged) and start again",
		ErrDamaged, g.Dir, storeDir, QueueFile, storeDir, filepath.Join(g.Dir, storeDir), g.Dir, g.Dir)
}

// AfterQueue records, once, that the embedded queue keeps its store in
// storeDir.
func (g Guard) AfterQueue(storeDir string) error {
	path := filepath.Join(g.Dir, QueueFile)
	if exists(path) {
		return nil
	}
	if err := WriteFileSynced(path, []byte(storeDir+"\n")); err != nil {
		return fmt.Errorf("data directory %s: write %s: %w", g.Dir, QueueFile, err)
	}
	return nil
}

// KeyFileMissing is the error for a data directory that holds an earlier
// run's store but not the master key file (path) its secrets were sealed
// with: a new key would not open them.
func (g Guard) KeyFileMissing(path string) error {
	return fmt.Errorf("%w: %s holds an earlier run's store, but its master key %s is missing: a new key would not open "+
		"the secrets sealed with the old one. Restore %s from a backup, or give the key the store was sealed with "+
		"(USHER_MASTER_KEY or --master-key-file) as before",
		ErrDamaged, g.Dir, path, path)
}

// WriteFileSynced replaces path with data, mode 0600, so that a crash
// leaves the old content or the new, never a part: a temporary file in the
// same directory, synced, renamed over path, then the directory synced.
func WriteFileSynced(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename; removes a failed write
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
