// Package runbook reads the shell blocks of the runbooks in docs/runbooks,
// so that a test can run each of them against a live usher: a renamed
// flag or route then breaks the build, not the night.
//
// A block fenced as ```sh runs. A block fenced as ```sh norun is shown to
// the reader but not run; its first line must be a comment saying why
// (production-only, destroys data, needs another machine). A line
// <!-- rehearsal-env: NAME=value --> sets the environment of the usher the
// test starts for the runbook (RehearsalEnv).
package runbook

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// envDirective marks a line of a runbook that sets the environment its
// rehearsal's usher starts with: <!-- rehearsal-env: NAME=value ... -->.
const envDirective = "<!-- rehearsal-env:"

// RehearsalEnv returns the NAME=value settings of the rehearsal-env lines
// of a Markdown runbook, in order: what the usher a test starts for the
// runbook is given, shown in the file's source beside the blocks that rely
// on it.
func RehearsalEnv(md string) []string {
	var env []string
	for _, line := range strings.Split(md, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), envDirective)
		if !ok {
			continue
		}
		if rest, ok = strings.CutSuffix(rest, "-->"); ok {
			env = append(env, strings.Fields(rest)...)
		}
	}
	return env
}

// Block is one shell block of a runbook.
type Block struct {
	// Line is the line of the opening fence, from 1.
	Line int
	Code string
	// Run is false for a norun block; Why then says why.
	Run bool
	Why string
}

// Parse returns the sh blocks of a Markdown runbook in order. Blocks of
// other languages are ignored. An unterminated fence or a norun block
// without its reason is an error.
func Parse(r io.Reader) ([]Block, error) {
	sc := bufio.NewScanner(r)
	var out []Block
	var cur *Block
	var body []string
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
			if len(info) > 0 && (info[0] == "sh" || info[0] == "bash") {
				cur = &Block{Line: n, Run: !(len(info) > 1 && info[1] == "norun")}
				body = nil
			} else if trimmed != "```" {
				cur = &Block{Line: -n} // another language: skipped
			}
		case cur != nil && trimmed == "```":
			if cur.Line > 0 {
				b, err := finish(*cur, body)
				if err != nil {
					return nil, err
				}
				out = append(out, b)
			}
			cur = nil
		case cur != nil:
			body = append(body, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: a code block is not closed", abs(cur.Line))
	}
	return out, sc.Err()
}

func finish(b Block, body []string) (Block, error) {
	b.Code = strings.Join(body, "\n") + "\n"
	if !b.Run {
		if len(body) == 0 || !strings.HasPrefix(strings.TrimSpace(body[0]), "#") {
			return b, fmt.Errorf("line %d: a norun block starts with a comment saying why it is not run", b.Line)
		}
		b.Why = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(body[0]), "#"))
	}
	return b, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
