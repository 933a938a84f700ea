// Package simulate generates realistic, deterministic live-commerce traffic (the viewer, order
// and refund events of the livepulse contract) and produces it to Kafka.
//
// The Generator is pure: the same Config (with Start set) and Seed always yield byte-identical
// messages, and Stats counts exactly what was generated, so tests and demos can compare what the
// pipeline stored with what was sent. Produce is the I/O half: it paces a Generator against the
// wall clock (or not) and writes to Kafka with the Java client's partitioner.
//
// The traffic is a discrete-event simulation. Actors (live streams, their displayed-count
// tickers, viewer sessions, pending refunds, late deliveries) schedule steps on one priority
// queue ordered by event time; a step may deliver one event. State is kept per live stream and
// per watching session only, so memory stays bounded however long the run. Realism, briefly:
//
//   - Streams: Config.Streams slots, each hosting one stream after another (10 min to 8 h,
//     median 90 min); a pool of KOLs with Pareto popularity (a few huge, a long tail) on
//     taobao, douyin, kuaishou, tiktok or amazon, each usually selling one of 16 brands.
//   - Traffic: viewers arrive at Rate × CurveLevel × the stream's popularity share (divided by
//     the ~14 events a session yields). The event rate follows arrivals with a lag of about a
//     dwell time, so at the midnight surge joins jump at once and the event rate over minutes.
//   - Viewers: join (session, device, IPv4), heartbeat every 20–30 s, engage now and then, leave
//     after a log-normal dwell (median 100 s, a long tail); 3 % just go silent. Streams report
//     their concurrent audience every ~5 s, times an honest platform factor of 1.0–1.3.
//   - Orders: ~3.5 % of viewers (more in the midnight rush) who watched a while buy; per-platform
//     log-normal prices in CNY with shop-style endings, quantity mostly 1.
//   - Refunds: 7–15 % of orders by platform, either quick cancellations (minutes) or returns
//     (hours); full or partial; only those falling within the run are generated.
//
// Scenarios (Config.Scenarios, see Scenarios) inject labelled episodes into this background:
// frauds a detector should flag and legitimate surges it should not. Each but surge_midnight
// takes over one stream of its own, drawn from the Seed among the streams live at Start (by
// popularity, preferring those on air through the episode; one about to end is kept on air),
// for [onset, end) (Config.ScenarioOnset, Config.ScenarioDuration); Generator.Labels returns the
// ground truth and WriteLabels writes it as JSON lines.
//
//   - viewer_inflation_count: the stream's displayed count is 5–20 times its real audience.
//   - viewer_inflation_bots: a bot farm of 20–50 devices on 1–3 /24s sends 3–8 times the real
//     audience (1000 to 20000 accounts) in waves that join within 1–2 minutes and stay a fixed
//     dwell ±2 s, tiled so the last one leaves by the end; no heartbeats or exactly periodic
//     ones (20 or 30 s), no engagement, no orders; the displayed count counts them.
//   - refund_spike: 60–80 % of the orders placed on the stream are refunded in full 0.5–15 min
//     later (the rest not at all).
//   - order_brushing: 3–8 accounts on 1–3 devices of one /24 watch the stream and order one item
//     30–80 times an hour between them, at one price (a quarter a few fen off), and 50–80 % of
//     those orders are refunded 3 min to 2 h later.
//   - surge_midnight: the curve's own Singles'-Day surge on every stream (the run is moved to
//     start just before midnight).
//   - surge_celebrity: a guest brings twice the stream's audience at once and twice its arrival
//     rate after, honest viewers who engage and buy as usual and leave when the guest does.
//   - surge_flash_sale: 30–60 % of the stream's audience (40 to 5000 buyers) come and buy within
//     seconds of joining, 85 % of all orders in the sale are of the flash item at 40–70 % off,
//     refunds as usual.
//
// Scenario actors draw from a random sequence of their own, so the traffic before the onset is
// the same as without scenarios (unless a stream had to be kept on air), and a Config without
// scenarios generates exactly what it did before they existed.
package simulate
