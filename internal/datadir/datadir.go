// Package datadir guards usher's data directory: one process at a time (an
// exclusive lock taken before anything else is opened), and a record of
// which store the directory belongs to, so that a missing or replaced
// database is refused instead of silently becoming a new, empty one.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Names of the files usher keeps in the data directory.
const (
	// LockFile is held with an exclusive flock while usher runs; it holds
	// the owner's pid.
	LockFile = "usher.lock"
	// IdentityFile names the store the directory belongs to.
	IdentityFile = "IDENTITY"
)

// ErrLocked is returned by Lock when another process holds the directory.
var ErrLocked = errors.New("data directory in use")

// Lock is an exclusive hold on a data directory.
type Lock struct {
	dir string
	f   *os.File
}

// Acquire creates dir if needed and takes its exclusive lock without
// waiting. The lock lasts until Release or the end of the process, so that a
// crashed usher never leaves a stale lock behind.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := holderOf(f)
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by another usher%s; each usher process needs a data directory of its own", ErrLocked, dir, holder)
		}
		return nil, fmt.Errorf("data directory %s: lock %s: %w", dir, path, err)
	}
	if err := writePID(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("data directory %s: lock %s: %w", dir, path, err)
	}
	return &Lock{dir: dir, f: f}, nil
}

// Release gives the directory up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	return err
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holderOf reads the pid the lock's holder wrote, as " (pid N)", or "".
func holderOf(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid := strings.TrimSpace(string(b[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (pid " + pid + ")"
}
