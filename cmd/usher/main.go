// Command usher is the ticketing webhook platform in one binary: `usher
// serve` runs the receiver, queue, processor and admin API; the other
// subcommands are clients and tools around it.
//
// Exit codes: 0 success, 1 failure (the server refused, a check found a
// problem, a connection failed), 2 usage (an unknown command or flag, a
// missing or extra argument).
package main

import (
	"context"
	"os"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(exitCode(err))
}
