CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER livepulse
(
    `version` UInt32,
    `name` String,
    `applied_at` DateTime64(3, 'UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{replica}')
ORDER BY version;

CREATE TABLE IF NOT EXISTS viewer_events_local ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `action` LowCardinality(String) COMMENT 'join|leave|heartbeat|engage|count',
    `viewer_id` String COMMENT 'required except for action=count',
    `session_id` String,
    `device_id` String,
    `ip` String,
    `kind` LowCardinality(String) COMMENT 'engage: like|comment|share|follow',
    `reported_viewers` UInt64 COMMENT 'count: the displayed concurrent viewers',
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted',
    INDEX ts_minmax ts TYPE minmax GRANULARITY 1,
    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toDate(ingest_time)
ORDER BY (stream_id, ts)
SETTINGS min_bytes_for_wide_part = 268435456;

CREATE TABLE IF NOT EXISTS viewer_events ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `action` LowCardinality(String) COMMENT 'join|leave|heartbeat|engage|count',
    `viewer_id` String COMMENT 'required except for action=count',
    `session_id` String,
    `device_id` String,
    `ip` String,
    `kind` LowCardinality(String) COMMENT 'engage: like|comment|share|follow',
    `reported_viewers` UInt64 COMMENT 'count: the displayed concurrent viewers',
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted'
)
ENGINE = Distributed('livepulse', currentDatabase(), viewer_events_local, kafka_partition);

CREATE TABLE IF NOT EXISTS orders_local ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `order_id` String,
    `buyer_id` String,
    `sku_id` String,
    `quantity` UInt32 COMMENT '≥ 1, default 1',
    `amount` Decimal(18, 2) COMMENT 'order total, major units, exact',
    `currency` LowCardinality(String) COMMENT 'ISO 4217; default the deployment\'s',
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted',
    INDEX ts_minmax ts TYPE minmax GRANULARITY 1,
    INDEX order_bf order_id TYPE bloom_filter GRANULARITY 4,
    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toDate(ingest_time)
ORDER BY (stream_id, ts)
SETTINGS min_bytes_for_wide_part = 268435456;

CREATE TABLE IF NOT EXISTS orders ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `order_id` String,
    `buyer_id` String,
    `sku_id` String,
    `quantity` UInt32 COMMENT '≥ 1, default 1',
    `amount` Decimal(18, 2) COMMENT 'order total, major units, exact',
    `currency` LowCardinality(String) COMMENT 'ISO 4217; default the deployment\'s',
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted'
)
ENGINE = Distributed('livepulse', currentDatabase(), orders_local, kafka_partition);

CREATE TABLE IF NOT EXISTS refunds_local ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `refund_id` String,
    `order_id` String,
    `buyer_id` String,
    `amount` Decimal(18, 2),
    `currency` LowCardinality(String),
    `reason` String,
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted',
    INDEX ts_minmax ts TYPE minmax GRANULARITY 1,
    INDEX order_bf order_id TYPE bloom_filter GRANULARITY 4,
    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toDate(ingest_time)
ORDER BY (stream_id, ts)
SETTINGS min_bytes_for_wide_part = 268435456;

CREATE TABLE IF NOT EXISTS refunds ON CLUSTER livepulse
(
    `event_id` String COMMENT 'globally unique id; the idempotency key',
    `ts` DateTime64(3, 'UTC') COMMENT 'event time',
    `stream_id` String COMMENT 'one live broadcast; the Kafka key',
    `kol_id` String COMMENT 'the broadcast\'s host',
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `refund_id` String,
    `order_id` String,
    `buyer_id` String,
    `amount` Decimal(18, 2),
    `currency` LowCardinality(String),
    `reason` String,
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted'
)
ENGINE = Distributed('livepulse', currentDatabase(), refunds_local, kafka_partition);

CREATE TABLE IF NOT EXISTS dead_letters_local ON CLUSTER livepulse
(
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `kafka_key` String COMMENT 'message key',
    `reason` LowCardinality(String) COMMENT 'schemas.Reason',
    `field` String COMMENT 'offending field, if any',
    `detail` String COMMENT 'human-readable error',
    `raw` String COMMENT 'the message bytes, unchanged',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch',
    INDEX ingest_minmax ingest_time TYPE minmax GRANULARITY 1
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toDate(ingest_time)
ORDER BY (kafka_topic, kafka_partition, kafka_offset);

CREATE TABLE IF NOT EXISTS dead_letters ON CLUSTER livepulse
(
    `kafka_topic` LowCardinality(String) COMMENT 'source topic',
    `kafka_partition` UInt32 COMMENT 'source partition',
    `kafka_offset` UInt64 COMMENT 'source offset',
    `kafka_key` String COMMENT 'message key',
    `reason` LowCardinality(String) COMMENT 'schemas.Reason',
    `field` String COMMENT 'offending field, if any',
    `detail` String COMMENT 'human-readable error',
    `raw` String COMMENT 'the message bytes, unchanged',
    `ingest_time` DateTime64(3, 'UTC') COMMENT 'when livepulse stored the row\'s batch'
)
ENGINE = Distributed('livepulse', currentDatabase(), dead_letters_local, kafka_partition);

ALTER TABLE viewer_events_local ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE viewer_events ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE viewer_events_local ON CLUSTER livepulse
    (ADD INDEX IF NOT EXISTS kol_bf kol_id TYPE bloom_filter GRANULARITY 4);

ALTER TABLE orders_local ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE orders ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE orders_local ON CLUSTER livepulse
    (ADD INDEX IF NOT EXISTS kol_bf kol_id TYPE bloom_filter GRANULARITY 4);

ALTER TABLE refunds_local ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE refunds ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `late` UInt8 COMMENT '1: arrived after its minute was final (beyond the allowed lateness); stored, not counted');

ALTER TABLE refunds_local ON CLUSTER livepulse
    (ADD INDEX IF NOT EXISTS kol_bf kol_id TYPE bloom_filter GRANULARITY 4);

ALTER TABLE orders_local ON CLUSTER livepulse
    (ADD INDEX IF NOT EXISTS order_bf order_id TYPE bloom_filter GRANULARITY 4);

ALTER TABLE refunds_local ON CLUSTER livepulse
    (ADD INDEX IF NOT EXISTS order_bf order_id TYPE bloom_filter GRANULARITY 4);

CREATE TABLE IF NOT EXISTS stream_metrics_1m_local ON CLUSTER livepulse
(
    `minute` DateTime64(3, 'UTC') COMMENT 'start of the event-time minute',
    `stream_id` String,
    `kafka_partition` UInt32 COMMENT 'the partition whose events the row counts',
    `kol_id` String,
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `gmv` Decimal(18, 2) COMMENT 'sum of order amounts',
    `orders` UInt64,
    `buyers` UInt64 COMMENT 'distinct buyers in the minute',
    `refunds` UInt64 COMMENT 'refunds attributed to the stream\'s orders',
    `refund_amount` Decimal(18, 2),
    `refunded_orders` UInt64 COMMENT 'distinct orders refunded in the minute',
    `unmatched_refunds` UInt64 COMMENT 'refunds naming an order never seen (counted on the refund\'s own stream)',
    `unmatched_refund_amount` Decimal(18, 2),
    `joins` UInt64,
    `leaves` UInt64,
    `heartbeats` UInt64,
    `engagements` UInt64,
    `unique_viewers` UInt64 COMMENT 'distinct viewers with any event in the minute',
    `concurrent_viewers` UInt64 COMMENT 'open sessions at the minute\'s end',
    `peak_concurrent_viewers` UInt64 COMMENT 'most open sessions at any time in the minute',
    `reported_viewers` UInt64 COMMENT 'the last displayed count in the minute (0: none)',
    `count_events` UInt64 COMMENT 'displayed-count events in the minute',
    `sessions_ended` UInt64 COMMENT 'sessions that left or timed out in the minute',
    `watch_ms_ended` UInt64 COMMENT 'total watch time of the sessions that ended',
    `late_events` UInt64 COMMENT 'events that arrived after the minute was final (not counted above)',
    `version` UInt64 COMMENT 'emission order; the highest wins',
    `emitted_at` DateTime64(3, 'UTC'),
    INDEX kol_bf kol_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
PARTITION BY toYYYYMM(minute)
ORDER BY (stream_id, minute, kafka_partition);

CREATE TABLE IF NOT EXISTS stream_metrics_1m ON CLUSTER livepulse
(
    `minute` DateTime64(3, 'UTC') COMMENT 'start of the event-time minute',
    `stream_id` String,
    `kafka_partition` UInt32 COMMENT 'the partition whose events the row counts',
    `kol_id` String,
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `gmv` Decimal(18, 2) COMMENT 'sum of order amounts',
    `orders` UInt64,
    `buyers` UInt64 COMMENT 'distinct buyers in the minute',
    `refunds` UInt64 COMMENT 'refunds attributed to the stream\'s orders',
    `refund_amount` Decimal(18, 2),
    `refunded_orders` UInt64 COMMENT 'distinct orders refunded in the minute',
    `unmatched_refunds` UInt64 COMMENT 'refunds naming an order never seen (counted on the refund\'s own stream)',
    `unmatched_refund_amount` Decimal(18, 2),
    `joins` UInt64,
    `leaves` UInt64,
    `heartbeats` UInt64,
    `engagements` UInt64,
    `unique_viewers` UInt64 COMMENT 'distinct viewers with any event in the minute',
    `concurrent_viewers` UInt64 COMMENT 'open sessions at the minute\'s end',
    `peak_concurrent_viewers` UInt64 COMMENT 'most open sessions at any time in the minute',
    `reported_viewers` UInt64 COMMENT 'the last displayed count in the minute (0: none)',
    `count_events` UInt64 COMMENT 'displayed-count events in the minute',
    `sessions_ended` UInt64 COMMENT 'sessions that left or timed out in the minute',
    `watch_ms_ended` UInt64 COMMENT 'total watch time of the sessions that ended',
    `late_events` UInt64 COMMENT 'events that arrived after the minute was final (not counted above)',
    `version` UInt64 COMMENT 'emission order; the highest wins',
    `emitted_at` DateTime64(3, 'UTC')
)
ENGINE = Distributed('livepulse', currentDatabase(), stream_metrics_1m_local, kafka_partition);

CREATE TABLE IF NOT EXISTS rollup_progress_local ON CLUSTER livepulse
(
    `kafka_partition` UInt32,
    `watermark` DateTime64(3, 'UTC') COMMENT 'rows of minutes ending AllowedLateness before it are final',
    `version` UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY kafka_partition;

CREATE TABLE IF NOT EXISTS rollup_progress ON CLUSTER livepulse
(
    `kafka_partition` UInt32,
    `watermark` DateTime64(3, 'UTC') COMMENT 'rows of minutes ending AllowedLateness before it are final',
    `version` UInt64
)
ENGINE = Distributed('livepulse', currentDatabase(), rollup_progress_local, kafka_partition);

CREATE TABLE IF NOT EXISTS anomaly_flags_local ON CLUSTER livepulse
(
    `flag_id` String COMMENT 'deterministic: kind, stream and episode start',
    `kind` LowCardinality(String) COMMENT 'viewer_inflation | refund_spike | order_brushing',
    `stream_id` String,
    `kol_id` String,
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `severity` LowCardinality(String) COMMENT 'info | warning | critical',
    `score` Float64 COMMENT '0–1, the episode\'s peak',
    `window_start` DateTime64(3, 'UTC') COMMENT 'event time of the earliest evidence',
    `window_end` DateTime64(3, 'UTC') COMMENT 'event time of the last anomalous evaluation',
    `detected_at` DateTime64(3, 'UTC') COMMENT 'event time (watermark) of this emission',
    `state` LowCardinality(String) COMMENT 'open | closed',
    `summary` String COMMENT 'the evidence in words',
    `evidence` String COMMENT 'the evidence as JSON: fired signals, values, baselines',
    `replayed` UInt8 COMMENT '1: raised by `livepulse replay`, not live',
    `replay_id` String COMMENT 'the replay run that raised it; empty for live flags',
    `version` UInt64 COMMENT 'emission order; the highest wins',
    `emitted_at` DateTime64(3, 'UTC') COMMENT 'wall time of this emission',
    INDEX stream_bf stream_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY flag_id;

CREATE TABLE IF NOT EXISTS anomaly_flags ON CLUSTER livepulse
(
    `flag_id` String COMMENT 'deterministic: kind, stream and episode start',
    `kind` LowCardinality(String) COMMENT 'viewer_inflation | refund_spike | order_brushing',
    `stream_id` String,
    `kol_id` String,
    `brand_id` LowCardinality(String),
    `platform` LowCardinality(String),
    `severity` LowCardinality(String) COMMENT 'info | warning | critical',
    `score` Float64 COMMENT '0–1, the episode\'s peak',
    `window_start` DateTime64(3, 'UTC') COMMENT 'event time of the earliest evidence',
    `window_end` DateTime64(3, 'UTC') COMMENT 'event time of the last anomalous evaluation',
    `detected_at` DateTime64(3, 'UTC') COMMENT 'event time (watermark) of this emission',
    `state` LowCardinality(String) COMMENT 'open | closed',
    `summary` String COMMENT 'the evidence in words',
    `evidence` String COMMENT 'the evidence as JSON: fired signals, values, baselines',
    `replayed` UInt8 COMMENT '1: raised by `livepulse replay`, not live',
    `replay_id` String COMMENT 'the replay run that raised it; empty for live flags',
    `version` UInt64 COMMENT 'emission order; the highest wins',
    `emitted_at` DateTime64(3, 'UTC') COMMENT 'wall time of this emission'
)
ENGINE = Distributed('livepulse', currentDatabase(), anomaly_flags_local, cityHash64(flag_id));

ALTER TABLE anomaly_flags_local ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `replay_id` String COMMENT 'the replay run that raised it; empty for live flags' AFTER replayed);

ALTER TABLE anomaly_flags ON CLUSTER livepulse
    (ADD COLUMN IF NOT EXISTS `replay_id` String COMMENT 'the replay run that raised it; empty for live flags' AFTER replayed);

ALTER TABLE viewer_events_local ON CLUSTER livepulse
    (MODIFY SETTING min_bytes_for_wide_part = 268435456);

ALTER TABLE orders_local ON CLUSTER livepulse
    (MODIFY SETTING min_bytes_for_wide_part = 268435456);

ALTER TABLE refunds_local ON CLUSTER livepulse
    (MODIFY SETTING min_bytes_for_wide_part = 268435456);
