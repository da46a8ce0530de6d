// Command iwom is the iwom social-listening pipeline: connectors, enrichment,
// the ClickHouse sink and alerts, in one process (`iwom run`) or as separate
// services.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/iwom/iwom/pipeline/config"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

type globals struct {
	configFile string
	cfg        *config.Config
	log        zerolog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	root.SetContext(ctx)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "iwom:", err)
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		os.Exit(1)
	}
}

type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "iwom",
		Short:         "iwom: real-time Internet Word-of-Mouth listening for Weibo and WeChat",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(g.configFile)
			if err != nil {
				return err
			}
			g.cfg = cfg
			g.log = newLogger(cfg.Log)
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "config file (YAML); only the keys it sets change the embedded defaults")
	root.AddCommand(
		runCmd(g), enrichCmd(g), sinkCmd(g), alertsCmd(g),
		replayCmd(g), genCmd(g), analyzeCmd(g), migrateCmd(g),
		reportCmd(g), dlqCmd(g), healthCmd(),
	)
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	return root
}

// commands are further top-level commands, each file adding its own in an
// init function, so that commands for separate concerns live apart.
var commands []func(*globals) *cobra.Command

func addCommand(c func(*globals) *cobra.Command) { commands = append(commands, c) }

func newLogger(c config.Log) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	console := c.Format == "console" || c.Format == "auto" && term.IsTerminal(int(os.Stderr.Fd()))
	var l zerolog.Logger
	if console {
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"})
	} else {
		l = zerolog.New(os.Stderr)
	}
	return l.Level(lvl).With().Timestamp().Logger()
}
