// Command usher is the ticketing webhook platform in one binary: `usher
// serve` runs the receiver, queue, processor and admin API; the other
// subcommands are clients and tools around it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "usher:", err)
		}
		os.Exit(1)
	}
}

const usage = `usher: a ticketing webhook platform in one binary

Usage:
  usher serve [flags]            run usher (embedded NATS JetStream + SQLite by default)
  usher send [flags] SAMPLE|FILE sign and send a webhook as a source would
  usher bench [flags]            load test a usher (or one started in-process) beside a bare net/http ceiling
  usher token create --scope S   create an admin token (prints it once); --expires-in 24h
  usher token list|revoke ID     list admin tokens (never their secrets), revoke one
  usher source create NAME       create a source (prints its secret once)
  usher source rotate NAME       add a new secret; the old one verifies for --grace
  usher dlq list|show ID|replay [ID]   search and replay dead letters
  usher replay --subscription ID --since T  re-deliver a subscription's events
  usher incident open|list|show|tag|replay|close  incidents: tag what failed, replay it, close
  usher audit verify|log         verify the hash-chained audit trail, or list it
  usher pii erase --order ID     erase a buyer's personal data (history stays)
  usher drill venue-outage       game-day drill: a venue offline, reconciled
  usher check [--data-dir DIR]   verify inventory invariants of a store
  usher keys rotate-master       re-seal everything under a new master key, online
  usher events export DIR | validate --type T [--version V] FILE...   event schemas; check payloads against them
  usher version                  print the version

Run "usher COMMAND -h" for the flags of a command.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "send":
		return runSend(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "token":
		return runToken(ctx, rest, getenv, stdout, stderr)
	case "dlq":
		return runDLQ(ctx, rest, getenv, stdout, stderr)
	case "replay":
		return runReplay(ctx, rest, getenv, stdout, stderr)
	case "incident":
		return runIncident(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "pii":
		return runPII(ctx, rest, getenv, stdout, stderr)
	case "drill":
		return runDrill(ctx, rest, getenv, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, getenv, stdout, stderr)
	case "source":
		return runSource(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "events":
		return runEvents(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "usher", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
