package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
)

// natsCmd runs the embedded NATS server on its own, so that separate iwom
// processes on one machine share a broker without installing one.
func natsCmd(g *cli.Globals) *cobra.Command {
	var listen, store string
	cmd := &cobra.Command{
		Use:   "nats",
		Short: "Run a standalone NATS server with JetStream (the one iwom embeds) until SIGTERM",
		Long: `Runs nats-server with JetStream stored under --store (default
<data_dir>/jetstream), listening on --listen, with nats.user/nats.password
when set. Separate iwom processes then use nats.url=nats://<listen>. For
production, run the official NATS server or a JetStream cluster instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, port, err := net.SplitHostPort(listen)
			if err != nil {
				return fmt.Errorf("parsing --listen: %w", err)
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				return fmt.Errorf("parsing --listen port: %w", err)
			}
			if store == "" {
				store = g.Cfg.DataDir + "/jetstream"
			}
			opts := &server.Options{Host: host, Port: p, JetStream: true, StoreDir: store, NoSigs: true, NoLog: true,
				MaxPayload: g.Cfg.NATS.MaxMsgSize + 256<<10, Username: g.Cfg.NATS.User, Password: g.Cfg.NATS.Password}
			srv, err := server.NewServer(opts)
			if err != nil {
				return fmt.Errorf("configuring NATS: %w", err)
			}
			go srv.Start()
			if !srv.ReadyForConnections(20 * time.Second) {
				srv.Shutdown()
				return fmt.Errorf("NATS did not start on %s", listen)
			}
			g.Log.Info().Str("url", srv.ClientURL()).Str("store", store).Msg("NATS server with JetStream running")
			<-cmd.Context().Done()
			srv.Shutdown()
			srv.WaitForShutdown()
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:4222", "host:port to listen on")
	cmd.Flags().StringVar(&store, "store", "", "JetStream storage directory")
	return cmd
}
