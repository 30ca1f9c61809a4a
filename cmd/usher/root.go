package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of usher, documented in `usher --help`.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is what every command reads from its process: the environment and
// the two output streams. Commands never touch os.Stdout or os.Getenv.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// commands lists the top-level commands; adding one is a file with its
// constructor and a line here.
func commands() []func(*env) *cobra.Command {
	return []func(*env) *cobra.Command{
		newServeCmd, newSendCmd, newBenchCmd, newTokenCmd, newSourceCmd,
		newCredentialsCmd, newDLQCmd, newReplayCmd, newAuditCmd, newPIICmd,
		newIncidentCmd, newDrillCmd, newCheckCmd, newKeysCmd, newEventsCmd, newListenCmd, newVersionCmd,
	}
}

const rootLong = `usher: a ticketing webhook platform in one binary.

Environment: USHER_URL (default http://127.0.0.1:8080), USHER_ADMIN_TOKEN,
USHER_DATA_DIR (default ./usher-data); every serve setting also has one.

Exit codes: 0 success, 1 failure, 2 usage error.`

// run parses args, runs the command they name and reports a failure as one
// line on stderr; main turns the error into the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		reportError(stderr, cmd, err)
	}
	return err
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "usher",
		Short:         "A ticketing webhook platform in one binary",
		Long:          rootLong,
		Example:       "  usher serve\n  usher send order.paid\n  usher token list --output json",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          groupArgs,
		RunE:          groupRun,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, c := range commands() {
		root.AddCommand(c(e))
	}
	return root
}

// usageError is a command line usher cannot make sense of: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitCode maps run's error to the process's exit code.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	}
	return exitFailure
}

// reportError prints err as one line (and, for a usage error, where to find
// the usage): never JSON, never a doubled prefix.
func reportError(w io.Writer, cmd *cobra.Command, err error) {
	fmt.Fprintf(w, "usher: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	var u usageError
	if errors.As(err, &u) && cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// groupArgs refuses an unknown subcommand of a command that only groups
// others (cobra would otherwise print help and succeed).
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// groupRun is the action of a grouping command named without a subcommand.
func groupRun(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Usage()
	return usagef("%s: name a subcommand", cmd.CommandPath())
}

// group returns a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: groupArgs, RunE: groupRun}
	c.AddCommand(subs...)
	return c
}

// exactArgs is cobra.ExactArgs whose failure is a usage error naming the
// arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s wants %d argument(s) (%s), got %d", cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: noArgs,
		Example: "  usher version",
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, "usher", version)
			return err
		},
	}
}
