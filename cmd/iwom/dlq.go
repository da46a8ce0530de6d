package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
)

func dlqCmd(g *globals) *cobra.Command {
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
			a, err := app.Open(cmd.Context(), g.cfg, g.log)
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
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", seq, h.Get(bus.HdrDLQStage), origin, h.Get(bus.HdrDLQError), payload)
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
	cmd.AddCommand(list)
	return cmd
}
