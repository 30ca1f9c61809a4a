package secrets_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"path/filepath"
	"testing"

	"github.com/usherhq/usher/internal/secrets"
)

// TestKeyringFollowsItsFile: a keyring read from a file opens values of the
// first format (no key id) and, once the file gains a new key, seals under
// it while still opening what the old key sealed; once the old key is
// dropped, only values under the new key open.
func TestKeyringFollowsItsFile(t *testing.T) {
	t.Parallel()
	a, b := bytes.Repeat([]byte{1}, secrets.KeySize), bytes.Repeat([]byte{2}, secrets.KeySize)
	path := filepath.Join(t.TempDir(), "master.key")
	if err := secrets.WriteKeyFile(path, [][]byte{a}); err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	legacy := sealV1(t, a, []byte("old"), "ctx")
	underA, _ := kr.Seal([]byte("a"), "ctx")
	if got, err := kr.Open(legacy, "ctx"); err != nil || string(got) != "old" {
		t.Fatalf("first-format value: %q %v", got, err)
	}
	if err := secrets.WriteKeyFile(path, [][]byte{b, a}); err != nil {
		t.Fatal(err)
	}
	underB, _ := kr.Seal([]byte("b"), "ctx")
	if kr.IsCurrent(underA) || !kr.IsCurrent(underB) || secrets.KeyID(underA) == secrets.KeyID(underB) {
		t.Fatalf("after rotation: A current %v, B current %v", kr.IsCurrent(underA), kr.IsCurrent(underB))
	}
	for _, v := range [][]byte{legacy, underA, underB} {
		if _, err := kr.Open(v, "ctx"); err != nil {
			t.Errorf("with both keys, %x does not open: %v", v[:5], err)
		}
	}
	if err := secrets.WriteKeyFile(path, [][]byte{b}); err != nil {
		t.Fatal(err)
	}
	fresh, err := secrets.OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Open(underA, "ctx"); err == nil {
		t.Error("a value under the dropped key still opens")
	}
	if got, err := fresh.Open(underB, "ctx"); err != nil || string(got) != "b" {
		t.Errorf("value under B: %q %v", got, err)
	}
}

// sealV1 seals as usher did before keys had ids: 0x01, nonce, ciphertext.
func sealV1(t *testing.T, key, plain []byte, context string) []byte {
	t.Helper()
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{9}, aead.NonceSize())
	return aead.Seal(append([]byte{1}, nonce...), nonce, plain, []byte(context))
}
