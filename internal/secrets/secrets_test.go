package secrets_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/usherhq/usher/internal/secrets"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, secrets.KeySize)
	s, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("whsec_top-secret")
	sealed, err := s.Seal(plain, "source/shop/key_1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatalf("sealed value %q contains the plaintext", sealed)
	}
	got, err := s.Open(sealed, "source/shop/key_1")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}
	other, _ := secrets.New(bytes.Repeat([]byte{8}, secrets.KeySize))
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other context": func() ([]byte, error) { return s.Open(sealed, "source/other/key_1") },
		"other key":     func() ([]byte, error) { return other.Open(sealed, "source/shop/key_1") },
		"tampered":      func() ([]byte, error) { return s.Open(tampered, "source/shop/key_1") },
		"truncated":     func() ([]byte, error) { return s.Open(sealed[:5], "source/shop/key_1") },
	} {
		if _, err := open(); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: got %v, want ErrOpen", name, err)
		}
	}
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	k1, created, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != secrets.KeySize {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	k2, created, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v %v, same key %v", err, created, bytes.Equal(k1, k2))
	}
	if _, err := secrets.ParseKey("dG9vLXNob3J0"); err == nil {
		t.Error("a 9-byte key was accepted")
	}
}
