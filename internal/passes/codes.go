package passes

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/usherhq/usher/internal/scanner"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketcode"
)

// Names of the server secrets in the store.
const (
	displaySecretName = "display"
	passSecretName    = "pass"
)

// reloadThrottle bounds how often a code signed by an unknown key makes
// Verify read the keys again: forged key ids must not become store load.
const reloadThrottle = time.Second

// ErrStaticCode is returned by CheckPresented for a plain ticket code at a
// show that admits only rotating display codes.
var ErrStaticCode = fmt.Errorf("this show admits only rotating display codes: %w", scanner.ErrStaticCodeRefused)

// Codes is usher's authority over ticket codes: the Ed25519 keyring kept in
// the store, which follows rotations made by any process, and the server
// secrets from which display codes and pass URLs are derived. It is safe for
// concurrent use. The processor mints codes with Issue; the scanner checks
// them with Verify and CheckPresented.
type Codes struct {
	db         Store
	now        func() time.Time
	displayKey []byte
	passKey    []byte

	keys       atomic.Pointer[keySnapshot]
	reloadMu   sync.Mutex
	lastReload time.Time // wall clock, for the throttle only
}

// keySnapshot is one reading of the keys: the keyring and what the key
// listing shows.
type keySnapshot struct {
	ring *ticketcode.Keyring
	info []KeyInfo
}

// KeyInfo describes a signing key without its private half.
type KeyInfo struct {
	KeyID     string    `json:"key_id"`
	Algorithm string    `json:"algorithm"`
	PublicKey string    `json:"public_key"` // base64url, unpadded
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// LoadCodes reads the signing keys and the server secrets from the store,
// creating the first key and the secrets when there are none yet. now is
// the clock of display codes and pass expiries.
func LoadCodes(ctx context.Context, db Store, now func() time.Time) (*Codes, error) {
	if now == nil {
		now = time.Now
	}
	c := &Codes{db: db, now: now}
	first, err := newStoreKey(now())
	if err != nil {
		return nil, err
	}
	if _, err := db.EnsureTicketKey(ctx, first); err != nil {
		return nil, fmt.Errorf("first ticket key: %w", err)
	}
	if err := c.Reload(ctx); err != nil {
		return nil, err
	}
	if c.displayKey, err = codeSecret(ctx, db, displaySecretName); err != nil {
		return nil, err
	}
	if c.passKey, err = codeSecret(ctx, db, passSecretName); err != nil {
		return nil, err
	}
	return c, nil
}

func codeSecret(ctx context.Context, db Store, name string) ([]byte, error) {
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, fmt.Errorf("%s secret: %w", name, err)
	}
	s, err := db.CodeSecret(ctx, name, candidate)
	if err != nil {
		return nil, fmt.Errorf("%s secret: %w", name, err)
	}
	return s, nil
}

func newStoreKey(created time.Time) (usher.TicketKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return usher.TicketKey{}, fmt.Errorf("generate ticket key: %w", err)
	}
	return usher.TicketKey{Private: priv.Seed(), Public: pub, CreatedAt: created}, nil
}

// Reload reads the signing keys from the store again.
func (c *Codes) Reload(ctx context.Context) error {
	stored, err := c.db.TicketKeys(ctx)
	if err != nil {
		return fmt.Errorf("load ticket keys: %w", err)
	}
	keys := make([]ticketcode.Key, 0, len(stored))
	info := make([]KeyInfo, 0, len(stored))
	for _, s := range stored {
		k := ticketcode.Key{ID: strconv.FormatInt(s.ID, 10), PublicKey: s.Public, Active: s.State == usher.TicketKeyActive}
		if k.Active {
			// Only the signing key's private half is kept in memory.
			if len(s.Private) != ed25519.SeedSize {
				return fmt.Errorf("ticket key %d: private key of %d bytes", s.ID, len(s.Private))
			}
			k.PrivateKey = ed25519.NewKeyFromSeed(s.Private)
		}
		keys = append(keys, k)
		info = append(info, KeyInfo{KeyID: k.ID, Algorithm: "Ed25519", PublicKey: base64.RawURLEncoding.EncodeToString(s.Public),
			State: s.State, CreatedAt: s.CreatedAt})
	}
	ring, err := ticketcode.NewKeyring(keys...)
	if err != nil {
		return fmt.Errorf("load ticket keys: %w", err)
	}
	c.keys.Store(&keySnapshot{ring: ring, info: info})
	return nil
}

// Keyring returns the keyring as last loaded.
func (c *Codes) Keyring() *ticketcode.Keyring { return c.keys.Load().ring }

// Keys lists the signing keys as last loaded, oldest first.
func (c *Codes) Keys() []KeyInfo { return c.keys.Load().info }

// Issue returns the code of claims signed with the active key. It is the
// keyring's Issue on the keys as last loaded (see Reload).
func (c *Codes) Issue(claims ticketcode.Claims) (string, error) { return c.Keyring().Issue(claims) }

// Verify returns the claims of a code signed by any stored key. A code of a
// key this process has not loaded yet (rotated by another process) makes it
// read the keys again, at most once a second. Errors wrap the errors of
// ticketcode.Keyring.Verify.
func (c *Codes) Verify(ctx context.Context, code string) (ticketcode.Claims, error) {
	claims, err := c.Keyring().Verify(code)
	if !errors.Is(err, ticketcode.ErrUnknownKey) {
		return claims, err
	}
	c.reloadMu.Lock()
	due := time.Since(c.lastReload) >= reloadThrottle
	if due {
		c.lastReload = time.Now()
	}
	c.reloadMu.Unlock()
	if !due {
		return claims, err
	}
	if rerr := c.Reload(ctx); rerr != nil {
		return ticketcode.Claims{}, errors.Join(err, rerr)
	}
	return c.Keyring().Verify(code)
}

// Rotate makes a new active signing key; the previous keys keep verifying.
func (c *Codes) Rotate(ctx context.Context) (KeyInfo, error) {
	next, err := newStoreKey(c.now())
	if err != nil {
		return KeyInfo{}, err
	}
	stored, err := c.db.RotateTicketKey(ctx, next)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("rotate ticket key: %w", err)
	}
	if err := c.Reload(ctx); err != nil {
		return KeyInfo{}, err
	}
	id := strconv.FormatInt(stored.ID, 10)
	for _, k := range c.Keys() {
		if k.KeyID == id {
			return k, nil
		}
	}
	return KeyInfo{}, fmt.Errorf("rotated key %s not found after reload", id)
}

// VenueDisplayKey returns the key from which a venue's display secrets
// derive (ticketcode.DisplaySecret): what the venue's offline scanners need
// to check display codes.
func (c *Codes) VenueDisplayKey(venueID string) []byte {
	return ticketcode.VenueDisplayKey(c.displayKey, venueID)
}

// displaySecret is the TOTP secret of a ticket's current generation.
func (c *Codes) displaySecret(t usher.Ticket) []byte {
	return ticketcode.DisplaySecret(c.VenueDisplayKey(t.VenueID), t.TicketID, t.Generation)
}

// DisplayCode returns the display code of a ticket at now and the end of
// its step.
func (c *Codes) DisplayCode(t usher.Ticket, now time.Time) (code string, validUntil time.Time) {
	return ticketcode.Display(t.Code, c.displaySecret(t), now)
}

// CheckPresented applies the rotating-code rules to what a gate read, once
// the scanner has split it (ticketcode.SplitDisplay), verified the code and
// found its ticket t by that code. otp is "" for a plain code: accepted only
// when the show allows static codes, else ErrStaticCode. A display code's
// password must match at now (ticketcode.ErrStaleCode,
// ticketcode.ErrBadDisplayCode) and its step must not have been used by
// another scan (ticketcode.ErrReplayedCode); the use is recorded in tx under
// the scan's nonce, so a retried scan is not a replay.
func (c *Codes) CheckPresented(ctx context.Context, tx scanner.PresentedTx, t usher.Ticket, otp, nonce string, now time.Time) error {
	if otp == "" {
		s, err := tx.ShowSettings(ctx, t.ShowID)
		if err != nil {
			return err
		}
		if !s.AllowStaticCodes {
			return ErrStaticCode
		}
		return nil
	}
	step, err := ticketcode.VerifyDisplay(c.displaySecret(t), otp, now)
	if err != nil {
		return err
	}
	err = tx.UseDisplayCode(ctx, usher.DisplayCodeUse{TicketID: t.TicketID, Generation: t.Generation, Step: step, Nonce: nonce, UsedAt: now})
	if errors.Is(err, usher.ErrDisplayCodeUsed) {
		return ticketcode.ErrReplayedCode
	}
	return err
}
