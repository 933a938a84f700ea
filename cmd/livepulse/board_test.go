package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/livepulse/livepulse/dashboards/api"
	"github.com/livepulse/livepulse/pipeline/simulate"
	"github.com/livepulse/livepulse/pipeline/testenv"
)

// TestBoardInBrowser drives the built-in board in headless Chromium against a running instance
// fed by the simulator (with a viewer-inflation scenario from the start): the page loads without
// console errors, the GMV ticker changes between two reads, and the flag the pipeline raises
// appears in the trust-and-safety view. Screenshots go to $LIVEPULSE_ARTIFACTS (default
// $TMPDIR/livepulse-artifacts).
func TestBoardInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium needed in CI (scripts/setup.sh --test installs it): %v", err)
		}
		t.Skipf("chromium not installed (apt-get install chromium): %v", err)
	}
	testenv.Library(t)
	artifacts := os.Getenv("LIVEPULSE_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(os.TempDir(), "livepulse-artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The instance: broker, pipeline with HTTP on a free loopback port, simulator.
	b := testenv.Broker(t, 2)
	var so storeOptions
	var po pipelineOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	so.register(fs, t.TempDir())
	po.register(fs)
	if err := fs.Parse([]string{"--brokers", b.Addr(), "--partitions", "2", "--flush-interval", "300ms"}); err != nil {
		t.Fatal(err)
	}
	p, err := startPipeline(ctx, newLogger("error"), so, po, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.stop(); err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + p.httpAddr

	// The browser.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	var mu sync.Mutex
	var consoleErrors []string
	listenErr := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				consoleErrors = append(consoleErrors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			consoleErrors = append(consoleErrors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				consoleErrors = append(consoleErrors, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if listenErr != nil {
		t.Fatalf("cannot start chromium: %v", listenErr)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		time.Sleep(700 * time.Millisecond) // let the ticker and the charts settle
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(artifacts, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	// waitJS polls a JavaScript condition until it holds.
	waitJS := func(what, cond string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool]("!!("+cond+")"))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v; page shows:\n%.2000s", what, timeout, text("main"))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil { // CSP violations and failed loads are reported there
		t.Fatal(err)
	}

	// The browser lives 16 hours away from the server's business day (Asia/Shanghai): for most of
	// the day its own date is another one, and "today" on the board must still be the server's.
	if _, err := chromedp.Call(bctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	// Before any traffic, the board says there is nothing yet rather than drawing zeros.
	do("open the empty board", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("gmv-ticker")))
	waitJS("the empty states", `document.querySelector("#chart-gmv .empty")?.textContent.includes("No sales") &&
		document.querySelector("#top-kols .empty") !== null && document.querySelector("#flags-glance .empty") !== null`, 20*time.Second)
	shot("board-empty.png")

	// Event time starts 2 min ago and runs 4× faster than the clock: the flag comes within
	// seconds, and after a minute event time is still within the contract's future skew.
	gen := simulate.NewGenerator(simulate.Config{Streams: 6, Rate: 300, Start: time.Now().Add(-2 * time.Minute).Truncate(time.Second),
		Duration: 20 * time.Minute, Seed: 11, Scenarios: []string{simulate.ScenarioViewerInflationCount}, ScenarioOnset: -1})
	simCtx, stopSim := context.WithCancel(ctx)
	var simWG sync.WaitGroup
	simWG.Add(1)
	go func() {
		defer simWG.Done()
		simulate.Produce(simCtx, gen, simulate.ProduceConfig{Brokers: []string{b.Addr()}, Speed: 4})
	}()
	defer simWG.Wait()
	defer stopSim()

	// Executive view: the ticker shows a GMV and counts up.
	waitJS("a GMV on the ticker", `/[1-9]/.test(document.querySelector("#gmv-ticker").textContent)`, 40*time.Second)
	first := text("#gmv-ticker")
	waitJS("the ticker to change", fmt.Sprintf(`document.querySelector("#gmv-ticker").textContent !== %q`, first), 15*time.Second)
	time.Sleep(2 * time.Second) // a second frame, and the count-up to it
	second := text("#gmv-ticker")
	t.Logf("GMV ticker: %q, then %q", first, second)
	for _, v := range []string{first, second} {
		if !regexp.MustCompile(`^¥\d{1,3}(,\d{3})*\.\d{2}$`).MatchString(v) {
			t.Errorf("the GMV ticker shows %q, not an amount like ¥1,234.56", v)
		}
	}
	if amount := func(s string) float64 {
		v, _ := strconv.ParseFloat(strings.NewReplacer("¥", "", ",", "").Replace(s), 64)
		return v
	}; amount(second) <= amount(first) {
		t.Errorf("the GMV ticker went from %q to %q: not up", first, second)
	}
	waitJS("the GMV-per-minute chart", `!!document.querySelector("#chart-gmv svg rect")`, 30*time.Second)
	shot("board-executive.png")

	// Trust and safety: the pipeline's flag appears, with its drill-down chart.
	do("open trust and safety", chromedp.Navigate(base+"/#/trust"))
	waitJS("a viewer_inflation flag in the trust-and-safety view",
		`[...document.querySelectorAll("#flag-list .flag")].some(f => f.textContent.includes("Viewer inflation"))`, 60*time.Second)
	waitJS("the flag's drill-down chart", `!!document.querySelector("#flag-detail svg path")`, 20*time.Second)
	shot("board-trust.png")

	// KOL audit of the flagged KOL against its brand's other KOLs.
	var flags struct {
		Flags []struct {
			KOLID   string `json:"kol_id"`
			BrandID string `json:"brand_id"`
		} `json:"flags"`
	}
	getJSONURL(t, base+"/api/flags?kind=viewer_inflation", &flags)
	if len(flags.Flags) == 0 {
		t.Fatal("the board showed a flag that /api/flags does not list")
	}
	q := url.Values{"kol": {flags.Flags[0].KOLID}, "brand": {flags.Flags[0].BrandID}}
	do("open the KOL audit", chromedp.Navigate(base+"/#/audit?"+q.Encode()))
	waitJS("the scorecard and the brand comparison", `!!document.querySelector(".score-grid") && !!document.querySelector(".compare")`, 30*time.Second)
	if n := text(".score-grid .kpi:last-child .v"); n == "0" {
		t.Errorf("the audit of flagged KOL %s shows no flag", flags.Flags[0].KOLID)
	}
	do("open the flagged stream's minutes", chromedp.Click(chromedp.CSS(".streams a.name")))
	waitJS("the stream's charts in the audit", `document.querySelectorAll("#audit-body .chart svg").length >= 3`, 20*time.Second)
	shot("board-audit.png")

	// The executive view on a wall screen.
	do("open the board on a wall screen", chromedp.EmulateViewport(2560, 1440), chromedp.Navigate(base+"/"))
	waitJS("the wall-screen board", `/[1-9]/.test(document.querySelector("#gmv-ticker").textContent) && !!document.querySelector("#chart-gmv svg rect")`, 20*time.Second)
	shot("board-executive-wall.png")

	// Beyond loopback the same board is behind the bearer token: the browser is sent to the
	// sign-in page, signs in once, and the page and its streams then work on the cookie.
	secured := httptest.NewServer(api.RequireToken("board-test-token", p.httpSrv.Handler))
	defer func() { secured.CloseClientConnections(); secured.Close() }() // ends the open SSE streams
	do("open the board behind a token", chromedp.Navigate(secured.URL+"/"))
	waitJS("the sign-in page", `location.pathname === "/login" && !!document.querySelector("#token")`, 10*time.Second)
	do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), "board-test-token"), chromedp.Submit(chromedp.CSS("#token")))
	waitJS("the board after signing in", `location.pathname === "/" && /[1-9]/.test(document.querySelector("#gmv-ticker")?.textContent || "")`, 20*time.Second)
	do("leave the board", chromedp.Navigate("about:blank"))

	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(consoleErrors, "\n"))
	}
}

func getJSONURL(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
