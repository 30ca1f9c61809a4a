package migrations_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/store/migrations"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/store/sqlite"
)

// applied pins the sha256 of every migration as each engine ran it when the
// migrations were kept as per-engine files: an applied migration must never
// change, so the shared source must expand to exactly those bytes.
var applied = []struct{ engine, file, sum string }{
	{"sqlite", "00001_spine.sql", "577c4d720f4632b550d2963bd501484a6ad61240c30103f798208062e864a3a2"},
	{"sqlite", "00002_edge.sql", "04357bae482ad5f835784e080fbb245a1a598001c9feb4f156ffa3acf445ab06"},
	{"sqlite", "00004_gates.sql", "f2d3c4cef0992a48cd8270c73b88669f8768bde25bd63987779012aefdc88497"},
	{"sqlite", "00005_domain.sql", "70f2df95e4fb96e1894b8c2257b2001eef2562ef773a4c90692ec76f43a37158"},
	{"sqlite", "00006_codes.sql", "0fcd9eeb827250f546f1d8a97d082d55098eaa7e0b182fec6c415c91e43ef785"},
	{"sqlite", "00007_audit_pii.sql", "cfed49d7a202da3591113237c30f47f69fdb9973bb2f6d21ef4dc24cf3331743"},
	{"sqlite", "00008_delivery.sql", "da4583f99f206936c96bd218494917a4b66db13a0f3682b4fc3c0c6b44bffc7e"},
	{"sqlite", "00009_token_lifecycle.sql", "c46a8e12422bfb84c46df7577439ebab0efaa4b6ca0dd9d435208815ecdac133"},
	{"sqlite", "00011_store_identity.sql", "80bc18ceb30d183563059927d713d30a496322107579e5b9d9c5e7a608f17ec2"},
	{"postgres", "00001_spine.sql", "9ded27de91a56702d2f26c07d4231512c69880f0a6a289d5d0b2315e3f109bd7"},
	{"postgres", "00002_edge.sql", "04357bae482ad5f835784e080fbb245a1a598001c9feb4f156ffa3acf445ab06"},
	{"postgres", "00004_gates.sql", "6e9742c33407c14f4dd6862b4a526f27b92c7e215a61833ba1ac76075f4183dd"},
	{"postgres", "00005_domain.sql", "70f2df95e4fb96e1894b8c2257b2001eef2562ef773a4c90692ec76f43a37158"},
	{"postgres", "00006_codes.sql", "bb9725d2fcd5909495f5e2532eb26bb7ea06b4b49f0514bc0142477c75963d22"},
	{"postgres", "00007_audit_pii.sql", "9bfdebe29c3d38afc5f7c73d9403fcead85e3f0f0f5a2f96f750261778cf145b"},
	{"postgres", "00008_delivery.sql", "be8ace25a805b1fb479f51fc9b30e6ddc72a5673f51dd3689e502b0dea62899e"},
	{"postgres", "00009_token_lifecycle.sql", "c46a8e12422bfb84c46df7577439ebab0efaa4b6ca0dd9d435208815ecdac133"},
	{"postgres", "00011_store_identity.sql", "c7d707b313cf733fdb3bbd2082419d2cd649806f68f63d9fbc7d3a5f97579917"},
	{"sqlite", "00010_incidents.sql", "af9427ae9eced45bac586e3cd25d673069d5b5ceedad3a0beed18c8925fc13dc"},
	{"postgres", "00010_incidents.sql", "af9427ae9eced45bac586e3cd25d673069d5b5ceedad3a0beed18c8925fc13dc"},
	{"sqlite", "00012_subscription_event_version.sql", "0e62cf3d9eeaa7524cb1a674287aadf031560eb17bf5df8af2499842e4b1b470"},
	{"postgres", "00012_subscription_event_version.sql", "0e62cf3d9eeaa7524cb1a674287aadf031560eb17bf5df8af2499842e4b1b470"},
	{"sqlite", "00013_outbox_trace.sql", "4b6024800e99d2af9f6fc1912941298c7f6a47a547bd85e43676d3b63a26ab61"},
	{"postgres", "00013_outbox_trace.sql", "4b6024800e99d2af9f6fc1912941298c7f6a47a547bd85e43676d3b63a26ab61"},
	{"sqlite", "00015_inbound_trace.sql", "fd26da820667a735f278b26b41adcf10038dd6649a96111032f78f2fe5d1e66e"},
	{"postgres", "00015_inbound_trace.sql", "fd26da820667a735f278b26b41adcf10038dd6649a96111032f78f2fe5d1e66e"},
	{"sqlite", "00016_subscription_version_notices.sql", "b5ca2789e3567a431ce77e6ee8d559fe6183e8293f5cdd0976af771a99ee584a"},
	{"postgres", "00016_subscription_version_notices.sql", "b5ca2789e3567a431ce77e6ee8d559fe6183e8293f5cdd0976af771a99ee584a"},
}

func TestExpansionKeepsAppliedMigrations(t *testing.T) {
	t.Parallel()
	engines := map[string]func() (fs.FS, error){"sqlite": sqlite.Migrations, "postgres": postgres.Migrations}
	for _, a := range applied {
		fsys, err := engines[a.engine]()
		if err != nil {
			t.Fatalf("%s: %v", a.engine, err)
		}
		raw, err := fs.ReadFile(fsys, a.file)
		if err != nil {
			t.Fatalf("%s %s: %v", a.engine, a.file, err)
		}
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != a.sum {
			t.Errorf("%s %s expands to sha256 %s, want %s as applied:\n%s", a.engine, a.file, got, a.sum, raw)
		}
	}
	for name, open := range engines {
		fsys, _ := open()
		names, _ := fs.Glob(fsys, "*.sql")
		for _, n := range names {
			raw, _ := fs.ReadFile(fsys, n)
			if strings.Contains(string(raw), "{{") {
				t.Errorf("%s %s keeps a token", name, n)
			}
		}
	}
}

func TestExpandRefusesMissingAndUnknownTokens(t *testing.T) {
	t.Parallel()
	if _, err := migrations.Expand(migrations.Dialect{"bytes": "BLOB"}); err == nil {
		t.Error("Expand with a dialect lacking tokens succeeded")
	}
	d := migrations.Dialect{}
	for _, tok := range migrations.Tokens() {
		d[tok] = "X"
	}
	fsys, err := migrations.Expand(d)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := fs.ReadFile(fsys, "00001_spine.sql"); strings.Contains(string(raw), "{{") || !strings.Contains(string(raw), "secret      X NOT NULL") {
		t.Errorf("expanded 00001:\n%s", raw)
	}
}
