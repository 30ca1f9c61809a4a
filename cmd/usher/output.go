package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// readView is how a read command's answer prints as a table: the field
// holding its rows, the columns to show, and the field naming the next page.
type readView struct {
	list    string   // field of the answer holding the rows; "" prints the object's fields
	columns []string // row fields shown as columns, in order
	next    string   // field holding the next-page token, printed under the table
}

// outputFlag adds --output/-o to a read command and returns its value.
func outputFlag(cmd *cobra.Command) *string {
	out := cmd.Flags().StringP("output", "o", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return out
}

// checkOutput refuses an unknown --output before any request is made.
func checkOutput(format string) error {
	if format != "table" && format != "json" {
		return usagef("--output %q: want table or json", format)
	}
	return nil
}

// render prints a successful JSON answer: indented as it came (json), or as
// the view's table.
func render(w io.Writer, format string, v readView, reply []byte) error {
	if format == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, reply, "", "  "); err != nil {
			return fmt.Errorf("answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(w)
		return err
	}
	var obj map[string]any
	if err := json.Unmarshal(reply, &obj); err != nil {
		return fmt.Errorf("answer is not a JSON object: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if v.list == "" {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "%s:\t%s\n", k, cell(obj[k]))
		}
		return tw.Flush()
	}
	rows, _ := obj[v.list].([]any)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(v.columns, "\t")))
	for _, r := range rows {
		row, _ := r.(map[string]any)
		cells := make([]string, len(v.columns))
		for i, c := range v.columns {
			cells[i] = cell(row[c])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next := cell(obj[v.next]); v.next != "" && next != "" && next != "0" {
		fmt.Fprintf(w, "(%d rows; next page: %s)\n", len(rows), next)
	}
	return nil
}

// cell is one value as table text: scalars plainly, lists joined, objects
// as compact JSON.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = cell(p)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// printJSON writes a write command's answer as it came, one line.
func printJSON(w io.Writer, reply []byte) error {
	reply = bytes.TrimRight(reply, "\n")
	_, err := fmt.Fprintf(w, "%s\n", reply)
	return err
}

// printReport writes a report as indented JSON when asJSON is set, or as
// text for people through text.
func printReport[R any](w io.Writer, rep R, asJSON bool, text func(io.Writer, R)) error {
	if !asJSON {
		text(w, rep)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
