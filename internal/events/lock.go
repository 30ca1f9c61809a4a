package events

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// LockFile is the name of the lock of released schemas beside schemas/.
const LockFile = "schemas.lock"

// Lock maps a schema file (a path under schemas/) to the hex SHA-256 of its
// released bytes.
type Lock map[string]string

// ParseLock reads lines of "<sha256>  <path>"; blank lines and lines
// starting with # are skipped.
func ParseLock(b []byte) (Lock, error) {
	l := Lock{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s line %d: want <sha256>  <path>", LockFile, n)
		}
		l[p] = sum
	}
	return l, sc.Err()
}

// Format renders the lock sorted by path.
func (l Lock) Format() []byte {
	paths := make([]string, 0, len(l))
	for p := range l {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var b bytes.Buffer
	b.WriteString("# Released event schemas: a released schema never changes (docs/compatibility.md).\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", l[p], p)
	}
	return b.Bytes()
}

// Verify compares files with the lock: a locked file whose bytes changed or
// that is gone is an error; a file not in the lock is returned as unlocked.
func (l Lock) Verify(files fs.FS) (unlocked []string, errs []error) {
	seen := map[string]bool{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		seen[p] = true
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		want, ok := l[p]
		switch {
		case !ok:
			unlocked = append(unlocked, p)
		case Hash(b) != want:
			errs = append(errs, fmt.Errorf("%s changed after its release: a released schema is fixed; publish a new version instead", p))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	for p := range l {
		if !seen[p] {
			errs = append(errs, fmt.Errorf("%s was released and is gone", p))
		}
	}
	return unlocked, errs
}

// Hash is the hex SHA-256 of a schema file's bytes.
func Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
