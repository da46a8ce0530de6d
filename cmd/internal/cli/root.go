// Package cli is the command plumbing the iwom binaries share: the root
// command with its --config flag, config loading and logging, the exit
// codes, the run command (every stage in one process) and the helpers
// commands of both binaries use. cmd/iwom (the pipeline and the operator's
// tools) and cmd/iwomlab (training, evaluation, benchmarks, fake platforms)
// each list their commands for NewRoot.
package cli

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

// Globals is what every command reads: the config the root loaded before
// the command ran (--config over the embedded defaults) and the logger.
type Globals struct {
	Cfg *config.Config
	Log zerolog.Logger

	configFile string
	onLoad     []func()
}

// OnLoad calls f once the config is loaded, before the command runs.
func (g *Globals) OnLoad(f func()) { g.onLoad = append(g.onLoad, f) }

func (g *Globals) load() error {
	cfg, err := config.Load(g.configFile)
	if err != nil {
		return err
	}
	g.Cfg = cfg
	g.Log = newLogger(cfg.Log)
	for _, f := range g.onLoad {
		f()
	}
	return nil
}

// A Command builds a top-level command on the globals; a binary lists its
// commands for NewRoot.
type Command func(*Globals) *cobra.Command

// NewRoot builds a binary's root command: --config, the config loaded and
// the logger built before any command runs (a command that needs neither
// sets its own PersistentPreRunE), and cmds under it.
func NewRoot(use, short, version string, cmds ...Command) *cobra.Command {
	g := &Globals{}
	root := &cobra.Command{
		Use:               use,
		Short:             short,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.load() },
	}
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "config file (YAML); only the keys it sets change the embedded defaults")
	for _, c := range cmds {
		root.AddCommand(c(g))
	}
	return root
}

// Main runs root until it returns or SIGINT/SIGTERM ends its context, and
// exits: 0, the ExitCode the command returned, or 1 after printing the
// error.
func Main(root *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", root.Name(), err)
	var ec ExitCode
	if errors.As(err, &ec) {
		os.Exit(int(ec))
	}
	os.Exit(1)
}

// ExitCode is an error that makes Main exit with that code (a check that
// found a difference, say).
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

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
