package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/termsafe"
)

func dlqCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{Use: "dlq", Short: "Inspect dead letters (iwom.dlq.<stage>)"}
	var full bool
	list := &cobra.Command{
		Use:   "list [stage]",
		Short: "List dead letters with their stage, reason and origin",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subj := bus.DLQPrefix + ">"
			if len(args) == 1 {
				subj = bus.DLQSubject(args[0])
			}
			a, err := app.Connect(cmd.Context(), g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tSTAGE\tORIGIN\tREASON\tPAYLOAD")
			n := 0
			err = a.Bus.ReadAll(cmd.Context(), bus.StreamDLQ, subj, func(m jetstream.Msg) error {
				n++
				h := m.Headers()
				md, _ := m.Metadata()
				var seq uint64
				if md != nil {
					seq = md.Sequence.Stream
				}
				origin := h.Get(bus.HdrDLQSubject)
				if s := h.Get(bus.HdrDLQStreamSeq); s != "" {
					origin += "#" + s
				}
				if l := h.Get(bus.HdrDLQLine); l != "" {
					origin = "line " + l
				}
				payload := string(m.Data())
				if !full {
					payload = truncate(fmt.Sprintf("%q", payload), 60)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", seq, termsafe.Cell(h.Get(bus.HdrDLQStage)), termsafe.Cell(origin), termsafe.Cell(h.Get(bus.HdrDLQError)), termsafe.Cell(payload))
				return nil
			})
			if err != nil {
				return err
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Printf("%d dead letter(s)\n", n)
			return nil
		},
	}
	list.Flags().BoolVar(&full, "full", false, "print whole payloads")
	show := &cobra.Command{
		Use:   "show SEQ",
		Short: "Print one dead letter: its headers and its whole payload",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("parsing SEQ %q: %w", args[0], err)
			}
			a, err := app.Connect(cmd.Context(), g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			m, err := a.Bus.GetDeadLetter(cmd.Context(), seq)
			if err != nil {
				return err
			}
			fmt.Printf("seq:     %d\nsubject: %s\n", m.Sequence, termsafe.Cell(m.Subject))
			keys := make([]string, 0, len(m.Header))
			for k := range m.Header {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Printf("%s: %s\n", termsafe.Cell(k), termsafe.Cell(strings.Join(m.Header[k], ", ")))
			}
			fmt.Printf("payload (%d bytes):\n%s\n", len(m.Data), termsafe.Text(string(m.Data)))
			return nil
		},
	}
	var keep bool
	var seqs []uint
	replay := &cobra.Command{
		Use:   "replay [stage]",
		Short: "Send dead letters back to the subject they came from (after a fix), then delete them",
		Long: `Republishes each dead letter of the stage (or those given with --seq) to
the subject it was taken from (header Iwom-Dlq-Subject), so the failed stage
sees it again, and deletes it from the DLQ once the stream has stored it
(--keep to leave it). Dead letters without an origin subject (bad input
lines rejected by a connector) cannot be replayed: fix the source and
replay the file.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			subj := bus.DLQPrefix + ">"
			if len(args) == 1 {
				subj = bus.DLQSubject(args[0])
			}
			a, err := app.Connect(cmd.Context(), g.Cfg, g.Log)
			if err != nil {
				return err
			}
			defer a.Close()
			var want []uint64
			for _, s := range seqs {
				want = append(want, uint64(s))
			}
			res, err := a.Bus.ReplayDeadLetters(cmd.Context(), subj, want, !keep)
			fmt.Printf("replayed %d dead letter(s), skipped %d without an origin subject\n", res.Replayed, res.Skipped)
			return err
		},
	}
	replay.Flags().BoolVar(&keep, "keep", false, "keep the dead letters after replaying them")
	replay.Flags().UintSliceVar(&seqs, "seq", nil, "only these DLQ sequence numbers")
	cmd.AddCommand(list, show, replay)
	return cmd
}
