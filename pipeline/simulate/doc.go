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
// Fraud scenarios (bot viewers, inflated counts, refund spikes, order brushing) are meant to be
// added as further actors on the same queue; see the actor interface.
package simulate
