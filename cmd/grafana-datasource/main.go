// Command grafana-datasource is livepulse's Grafana backend datasource plugin (dashboards/grafana).
// Grafana starts it from the plugin directory as gpx_livepulse_<os>_<arch> (see
// dashboards/grafana/plugin/plugin.json); it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/livepulse/livepulse/dashboards/grafana"
)

func main() {
	if err := datasource.Manage(grafana.PluginID, grafana.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("cannot serve the plugin", "err", err)
		os.Exit(1)
	}
}
