package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
)

// The test vector of docs/audit.md.
var vector = usher.AuditRecord{
	Seq: 7, At: time.UnixMicro(1767225600123456).UTC(), Actor: "tok_1a2b", Action: "inventory.set",
	EntityType: "inventory", EntityID: "show_1/GA", Detail: json.RawMessage(`{"capacity":100}`), PrevHash: usher.AuditGenesis,
}

const vectorHash = "cee79076a85d30d6dcaeda2ce196fbd07e6c270a486996892698e085ea072282"

func TestAuditHashFollowsTheDocumentedEncoding(t *testing.T) {
	t.Parallel()
	// The encoding written out by hand from docs/audit.md: every field an
	// int64 big-endian, or such a byte length followed by the bytes.
	var b bytes.Buffer
	i64 := func(n int64) { _ = binary.Write(&b, binary.BigEndian, n) }
	str := func(s string) { i64(int64(len(s))); b.WriteString(s) }
	str("usher-audit/1")
	i64(7)
	i64(1767225600123456)
	for _, s := range []string{"tok_1a2b", "inventory.set", "inventory", "show_1/GA", "", `{"capacity":100}`, strings.Repeat("0", 64)} {
		str(s)
	}
	sum := sha256.Sum256(b.Bytes())
	want := hex.EncodeToString(sum[:])
	if got := usher.AuditHash(vector); got != want {
		t.Fatalf("AuditHash = %s, want %s (the documented encoding)", got, want)
	}
	if want != vectorHash {
		t.Fatalf("the documented test vector is %s, but the encoding gives %s: update docs/audit.md only if the encoding's version changed", vectorHash, want)
	}
}

func TestAuditHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := usher.AuditHash(vector)
	for name, change := range map[string]func(r *usher.AuditRecord){
		"seq":         func(r *usher.AuditRecord) { r.Seq++ },
		"at":          func(r *usher.AuditRecord) { r.At = r.At.Add(time.Microsecond) },
		"actor":       func(r *usher.AuditRecord) { r.Actor += "x" },
		"action":      func(r *usher.AuditRecord) { r.Action += "x" },
		"entity_type": func(r *usher.AuditRecord) { r.EntityType += "x" },
		"entity_id":   func(r *usher.AuditRecord) { r.EntityID += "x" },
		"order_id":    func(r *usher.AuditRecord) { r.OrderID = "ord_1" },
		"detail":      func(r *usher.AuditRecord) { r.Detail = json.RawMessage(`{"capacity":101}`) },
		"prev_hash":   func(r *usher.AuditRecord) { r.PrevHash = strings.Repeat("1", 64) },
		// Lengths keep field boundaries: moving a byte from one field to the next changes the hash.
		"boundary": func(r *usher.AuditRecord) { r.EntityType, r.EntityID = "inventorys", "how_1/GA" },
	} {
		r := vector
		change(&r)
		if usher.AuditHash(r) == base {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
	if r := vector; usher.AuditHash(r) != base {
		t.Error("AuditHash is not deterministic")
	}
}

// memLog is an in-memory audit log for the walking logic of Verify; the
// conformance suite runs Verify on both engines against real tampering.
type memLog struct {
	recs []usher.AuditRecord
	head usher.AuditHead
	// afterPage, when set, runs once after the first page is read.
	afterPage func(m *memLog)
}

func (m *memLog) AuditLog(_ context.Context, f usher.AuditFilter) ([]usher.AuditRecord, error) {
	var out []usher.AuditRecord
	for _, r := range m.recs {
		if r.Seq > f.After && len(out) < f.Limit {
			out = append(out, r)
		}
	}
	if hook := m.afterPage; hook != nil {
		m.afterPage = nil
		hook(m)
	}
	return out, nil
}

func (m *memLog) AuditHead(context.Context) (usher.AuditHead, error) { return m.head, nil }

func (m *memLog) append(n int) {
	for range n {
		r := usher.AuditRecord{Seq: m.head.Seq + 1, At: time.Now().UTC().Truncate(time.Microsecond), Actor: "processor",
			Action: "order.paid", Detail: json.RawMessage(fmt.Sprintf(`{"n":%d}`, m.head.Seq+1)), PrevHash: m.head.Hash}
		if r.PrevHash == "" {
			r.PrevHash = usher.AuditGenesis
		}
		r.Hash = usher.AuditHash(r)
		m.recs = append(m.recs, r)
		m.head = usher.AuditHead{Seq: r.Seq, Hash: r.Hash}
	}
}

func TestVerifyWalksPagesAndFollowsConcurrentAppends(t *testing.T) {
	t.Parallel()
	m := &memLog{}
	m.append(2*usher.MaxAuditLimit + 7)
	rep, err := audit.Verify(t.Context(), m)
	if err != nil || !rep.OK() || rep.Records != int64(len(m.recs)) {
		t.Fatalf("Verify of %d records = %v, %v", len(m.recs), rep, err)
	}

	// Records committed between the last page and the head read are not a
	// removed tail: Verify reads on and checks them too.
	m = &memLog{}
	m.append(5)
	m.afterPage = func(m *memLog) { m.append(3) }
	rep, err = audit.Verify(t.Context(), m)
	if err != nil || !rep.OK() || rep.Records != 8 || rep.Head.Seq != 8 {
		t.Fatalf("Verify with appends during the walk = %v, %v; want 8 sound records", rep, err)
	}
}

func TestVerifyFindsABreakBeyondTheFirstPage(t *testing.T) {
	t.Parallel()
	m := &memLog{}
	m.append(usher.MaxAuditLimit + 500)
	m.recs[usher.MaxAuditLimit+41].Actor = "mallory"
	rep, err := audit.Verify(t.Context(), m)
	want := int64(usher.MaxAuditLimit + 42)
	if err != nil || rep.OK() || rep.BadSeq != want || rep.Records != want-1 {
		t.Fatalf("Verify = %v, %v; want record %d broken after %d sound ones", rep, err, want, want-1)
	}
	if s := rep.String(); !strings.HasPrefix(s, fmt.Sprintf("BROKEN at record %d:", want)) {
		t.Fatalf("String() = %q", s)
	}
}

func TestVerifyEmptyLogWithAForgedHead(t *testing.T) {
	t.Parallel()
	m := &memLog{head: usher.AuditHead{Hash: strings.Repeat("f", 64)}}
	rep, err := audit.Verify(t.Context(), m)
	if err != nil || rep.OK() || rep.BadSeq != 1 {
		t.Fatalf("Verify of an empty log with a forged head = %v, %v; want broken", rep, err)
	}
	m = &memLog{head: usher.AuditHead{Hash: usher.AuditGenesis}}
	if rep, err := audit.Verify(t.Context(), m); err != nil || !rep.OK() || !strings.HasPrefix(rep.String(), "OK: 0 audit records") {
		t.Fatalf("Verify of an empty log = %v, %v", rep, err)
	}
}
