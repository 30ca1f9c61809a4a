package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/datadir"
)

// Keyring seals under its current master key and opens values sealed under
// any of its keys: the current one and those a rotation retires. A keyring
// read from a file follows the file: when `usher keys rotate-master` writes a
// new key there, a running process seals under it from its next seal on and
// still opens what the retiring key sealed.
type Keyring struct {
	mu    sync.RWMutex
	keys  []*Sealer // keys[0] seals
	file  string    // "" for keys given by value
	stamp fileStamp
}

// fileStamp tells whether a key file changed since it was read.
type fileStamp struct {
	info os.FileInfo
}

func (f fileStamp) same(info os.FileInfo) bool {
	return f.info != nil && os.SameFile(f.info, info) && f.info.ModTime().Equal(info.ModTime()) && f.info.Size() == info.Size()
}

// NewKeyring returns a keyring of 32-byte keys; the first one seals.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	sealers, err := sealersOf(keys)
	if err != nil {
		return nil, err
	}
	return &Keyring{keys: sealers}, nil
}

func sealersOf(keys [][]byte) ([]*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("master key: none given")
	}
	out := make([]*Sealer, 0, len(keys))
	for _, k := range keys {
		s, err := New(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// OpenKeyFile returns the keyring of a key file (see ParseKeys), which it
// reads again whenever the file changes.
func OpenKeyFile(path string) (*Keyring, error) {
	k := &Keyring{file: path}
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// reload reads the key file when it changed since the last read.
func (k *Keyring) reload() error {
	info, err := os.Stat(k.file)
	if err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	k.mu.RLock()
	same := k.stamp.same(info)
	k.mu.RUnlock()
	if same {
		return nil
	}
	raw, err := os.ReadFile(k.file)
	if err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	keys, err := ParseKeys(string(raw))
	if err != nil {
		return err
	}
	sealers, err := sealersOf(keys)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.keys, k.stamp = sealers, fileStamp{info: info}
	k.mu.Unlock()
	return nil
}

// refresh follows the key file, if any. A file that cannot be read now
// leaves the keys as they were: a process keeps working on what it loaded.
func (k *Keyring) refresh() {
	if k.file != "" {
		_ = k.reload()
	}
}

func (k *Keyring) sealers() []*Sealer {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

// Seal seals plaintext under the current key (see Sealer.Seal).
func (k *Keyring) Seal(plaintext []byte, context string) ([]byte, error) {
	k.refresh()
	return k.sealers()[0].Seal(plaintext, context)
}

// Open opens a value sealed under any key of the ring; a value under a key
// the ring does not know makes it read its file again first.
func (k *Keyring) Open(sealed []byte, context string) ([]byte, error) {
	plain, err := openWith(k.sealers(), sealed, context)
	if errors.Is(err, ErrOpen) && k.file != "" && KeyID(sealed) != "" && !slices.Contains(k.IDs(), KeyID(sealed)) {
		k.refresh()
		return openWith(k.sealers(), sealed, context)
	}
	return plain, err
}

func openWith(sealers []*Sealer, sealed []byte, context string) ([]byte, error) {
	for _, s := range sealers {
		if _, ok := s.body(sealed); !ok {
			continue
		}
		if plain, err := s.Open(sealed, context); err == nil {
			return plain, nil
		}
	}
	return nil, ErrOpen
}

// Current returns the id of the key that seals.
func (k *Keyring) Current() string {
	k.refresh()
	return k.sealers()[0].ID()
}

// IDs returns the ids of every key, the current one first.
func (k *Keyring) IDs() []string {
	var ids []string
	for _, s := range k.sealers() {
		ids = append(ids, s.ID())
	}
	return ids
}

// IsCurrent reports whether sealed is sealed under the current key, so that
// a rotation can skip it.
func (k *Keyring) IsCurrent(sealed []byte) bool {
	return KeyID(sealed) == k.sealers()[0].ID()
}

// ParseKeys reads master keys, base64, one a line (or separated by commas,
// as USHER_MASTER_KEY may hold them); blank lines and lines starting with
// '#' are skipped. The first key seals; the others only open.
func ParseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, field := range strings.Split(line, ",") {
			key, err := ParseKey(field)
			if err != nil {
				return nil, err
			}
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("master key: none given")
	}
	return keys, nil
}

// NewKey returns a random 32-byte key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return key, nil
}

// WriteKeyFile replaces the key file at path, atomically and with mode 0600,
// by keys: the first seals, the others are retiring.
func WriteKeyFile(path string, keys [][]byte) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# usher master keys, written %s: the first seals, the others only open (retiring)\n", time.Now().UTC().Format(time.RFC3339))
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	if err := datadir.WriteFileSynced(path, []byte(b.String())); err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	return nil
}
