package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/engine"
)

// maxResealPasses bounds the passes of one rotate-master run: a pass after
// the first finds only what running processes sealed under the retiring key
// before they read the new key file.
const maxResealPasses = 5

// newKeysCmd groups the master-key commands.
func newKeysCmd(e *env) *cobra.Command {
	return group("keys", "Manage the master key that seals secrets at rest", newKeysRotateCmd(e))
}

// keysOptions are the flags of usher keys rotate-master.
type keysOptions struct {
	dataDir, pgURL, keyFile string
	batch, limit            int
	finish, keyOnly         bool
}

func newKeysRotateCmd(e *env) *cobra.Command {
	var o keysOptions
	cmd := &cobra.Command{
		Use:     "rotate-master",
		Short:   "Re-seal everything under a new master key, online",
		Long:    "Adds a new current key to the key file, re-seals every sealed value under it\n(run again to resume), and with --finish drops the retiring keys. See docs/keys.md.",
		Example: "  usher keys rotate-master --data-dir /var/lib/usher\n  usher keys rotate-master --finish",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), e.getenv, e.stdout)
		},
	}
	fs, getenv := cmd.Flags(), e.getenv
	fs.StringVar(&o.dataDir, "data-dir", envOr(getenv, "USHER_DATA_DIR", "usher-data"), "data directory of an embedded usher (env USHER_DATA_DIR)")
	fs.StringVar(&o.pgURL, "postgres-url", getenv("USHER_POSTGRES_URL"), "PostgreSQL URL instead of the data directory (env USHER_POSTGRES_URL)")
	fs.StringVar(&o.keyFile, "master-key-file", getenv("USHER_MASTER_KEY_FILE"), "master key file (default DATA_DIR/master.key)")
	fs.IntVar(&o.batch, "batch", 100, "values resealed per transaction")
	fs.IntVar(&o.limit, "limit", 0, "stop after resealing this many values (0: all); run again to resume")
	fs.BoolVar(&o.finish, "finish", false, "once every value is under the new key, drop the retiring keys from the key file")
	fs.BoolVar(&o.keyOnly, "key-only", false, "add the new key to the key file and stop, re-sealing nothing: for processes that read a copy of the file (a systemd credential), restart them, then run again to re-seal")
	return cmd
}

// run rotates (or resumes or finishes rotating) the master key.
func (o *keysOptions) run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	dataDir, pgURL, keyFile, batch, limit, finish := &o.dataDir, &o.pgURL, &o.keyFile, &o.batch, &o.limit, &o.finish
	if *keyFile == "" {
		if getenv("USHER_MASTER_KEY") != "" {
			return errors.New("keys: USHER_MASTER_KEY is set: rotate with a key file, or see docs/keys.md to rotate keys given in the environment")
		}
		*keyFile = filepath.Join(*dataDir, "master.key")
	}
	kr, err := startRotation(*keyFile, *finish, stdout)
	if err != nil {
		return err
	}
	if o.keyOnly {
		fmt.Fprintf(stdout, "key %s added to %s; nothing re-sealed: restart every process that reads a copy of the key file, then run again without --key-only\n", kr.Current(), *keyFile)
		return nil
	}
	db, err := openKeysStore(ctx, *pgURL, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetSealer(kr)
	rep, err := resealAll(ctx, db, kr, *batch, *limit, stdout)
	if err != nil {
		return err
	}
	return finishRotation(*keyFile, kr, rep, *finish, stdout)
}

// startRotation adds a new current key to a key file that holds one key;
// a file with several keys is a rotation under way, which this run resumes.
func startRotation(path string, finish bool, stdout io.Writer) (*secrets.Keyring, error) {
	kr, err := secrets.OpenKeyFile(path)
	if err != nil {
		return nil, err
	}
	if len(kr.IDs()) > 1 || finish {
		fmt.Fprintf(stdout, "resuming: key %s seals, %v retiring\n", kr.Current(), kr.IDs()[1:])
		return kr, nil
	}
	keys, err := readKeys(path)
	if err != nil {
		return nil, err
	}
	fresh, err := secrets.NewKey()
	if err != nil {
		return nil, err
	}
	if err := secrets.WriteKeyFile(path, append([][]byte{fresh}, keys...)); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "new master key %s seals from now on; %s retiring (running processes follow %s)\n", kr.Current(), kr.IDs()[len(kr.IDs())-1], path)
	return kr, nil
}

// resealAll reseals until a pass finds nothing left under a retiring key
// (or the limit is reached) and prints each pass.
func resealAll(ctx context.Context, db *store.DB, kr *secrets.Keyring, batch, limit int, stdout io.Writer) (usher.ResealReport, error) {
	var rep usher.ResealReport
	for pass := 1; pass <= maxResealPasses; pass++ {
		var err error
		if rep, err = db.Reseal(ctx, kr, batch, limit); err != nil {
			return rep, err
		}
		n := 0
		for _, c := range sortedKeys(rep.Resealed) {
			fmt.Fprintf(stdout, "pass %d: %s: %d resealed\n", pass, c, rep.Resealed[c])
			n += rep.Resealed[c]
		}
		if n == 0 || limit > 0 || !rep.Done() {
			break
		}
	}
	for _, c := range sortedKeys(rep.Remaining) {
		fmt.Fprintf(stdout, "%s: %d still under a retiring key\n", c, rep.Remaining[c])
	}
	for _, c := range sortedKeys(rep.Unreadable) {
		fmt.Fprintf(stdout, "%s: %d open under no key of the file\n", c, rep.Unreadable[c])
	}
	return rep, nil
}

// finishRotation drops the retiring keys when asked and nothing needs them.
func finishRotation(path string, kr *secrets.Keyring, rep usher.ResealReport, finish bool, stdout io.Writer) error {
	if !rep.Done() {
		fmt.Fprintln(stdout, "not done: run `usher keys rotate-master` again to resume")
		if finish {
			return errors.New("keys: values are still under a retiring key; the retiring keys stay")
		}
		return nil
	}
	fmt.Fprintf(stdout, "every sealed value is under key %s\n", kr.Current())
	if !finish {
		fmt.Fprintln(stdout, "once every process has sealed under the new key and the queue is drained, run with --finish to drop the retiring keys")
		return nil
	}
	keys, err := readKeys(path)
	if err != nil {
		return err
	}
	if err := secrets.WriteKeyFile(path, keys[:1]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retired; %s holds only key %s\n", path, kr.Current())
	return nil
}

func readKeys(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	return secrets.ParseKeys(string(raw))
}

func openKeysStore(ctx context.Context, pgURL, dataDir string) (*store.DB, error) {
	return engine.Open(ctx, pgURL, dataDir)
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
