// Package server is "goimmich server": version, build and statistics of the
// Immich server.
package server

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/internal/cli/apicmd"
	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
)

// Options is one run of "server".
type Options struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	JSON    bool
}

// Info is what "server --json" prints.
type Info struct {
	URL        string                           `json:"url"`
	Version    string                           `json:"version"`
	PinnedAPI  string                           `json:"pinnedApiVersion"`
	About      *api.ServerAboutResponseDto      `json:"about,omitempty"`
	MediaTypes *api.ServerMediaTypesResponseDto `json:"mediaTypes,omitempty"`
	Statistics *api.AssetStatsResponseDto       `json:"statistics,omitempty"`
}

// NewCmdServer returns the "server" command.
func NewCmdServer(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Factory: f}
	cmd := &cobra.Command{
		Use:     "server",
		Aliases: []string{"server-info"},
		Short:   "Show the server's version, build, accepted file types and your asset counts",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serverRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "Print as JSON")
	return cmd
}

func serverRun(ctx context.Context, opts *Options) error {
	c, _, err := opts.Factory.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	info := Info{URL: c.ServerURL(), PinnedAPI: apicmd.ImmichVersion}
	v, err := c.GetServerVersionWithResponse(ctx)
	if err != nil {
		return err
	}
	if v.JSON200 != nil {
		info.Version = fmt.Sprintf("%d.%d.%d", v.JSON200.Major, v.JSON200.Minor, v.JSON200.Patch)
	}
	if r, err := c.GetAboutInfoWithResponse(ctx); err == nil && r.JSON200 != nil {
		info.About = r.JSON200
	}
	if r, err := c.GetSupportedMediaTypesWithResponse(ctx); err == nil && r.JSON200 != nil {
		info.MediaTypes = r.JSON200
	}
	if r, err := c.GetAssetStatisticsWithResponse(ctx, &api.GetAssetStatisticsParams{}); err == nil && r.JSON200 != nil {
		info.Statistics = r.JSON200
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, info)
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "Server:   %s\nVersion:  %s (goimmich speaks the %s API)\n", info.URL, info.Version, info.PinnedAPI)
	if info.About != nil && info.About.Licensed {
		fmt.Fprintln(out, "Licensed: yes")
	}
	if m := info.MediaTypes; m != nil {
		fmt.Fprintf(out, "Images:   %d file types\nVideos:   %d file types\nSidecars: %d file types\n", len(m.Image), len(m.Video), len(m.Sidecar))
	}
	if s := info.Statistics; s != nil {
		fmt.Fprintf(out, "Your assets: %d images, %d videos, %d total\n", s.Images, s.Videos, s.Total)
	}
	return nil
}
